// EdgeLLM OpenCL kernels: the forward-pass ops of dev.edgellm.core.backend.Backend on device memory.
//
// Numerics follow the scalar oracle (ScalarKernels): Q4_0/Q8_0 weights meet activations quantized to
// Q8_0 per block of 32 (d = amax/127 stored as fp16, q = rint(x/d)) and integer dot products per
// block; F16/BF16 weights meet activations rounded to f16/bf16; an f16 KV cache rounds the query to
// f16; GELU reads the same fp16 table as llama.cpp's CPU backend. Only OpenCL 1.2 core features are
// used: half values are read and written with vload_half/vstore_half, never as a `half` type, so no
// device needs cl_khr_fp16.
//
// Weight buffers hold the raw ggml bytes of one tensor; rows are `rowBytes` apart.

#pragma OPENCL FP_CONTRACT OFF

#define QK 32
#define Q4_0_BYTES 18
#define Q8_0_BYTES 34

// ggml type ids (GgmlType.id())
#define T_F32 0
#define T_F16 1
#define T_Q4_0 2
#define T_Q8_0 8
#define T_BF16 30

// ---- exact conversions ----------------------------------------------------------------------------

// float32 -> float16 bits, round to nearest even (as Java's Float.floatToFloat16).
inline uint f32_to_f16_bits(float f) {
    uint x = as_uint(f);
    uint sign = (x >> 16) & 0x8000u;
    uint ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {                       // inf or NaN
        return sign | 0x7c00u | (ax > 0x7f800000u ? (0x200u | ((ax >> 13) & 0x3ffu)) : 0u);
    }
    if (ax >= 0x477ff000u) {                       // rounds to +-inf (>= 65520)
        return sign | 0x7c00u;
    }
    if (ax < 0x38800000u) {                        // below 2^-14: subnormal half (or zero)
        // v * 2^24 is exact; rint rounds half to even.
        return sign | (uint) rint(as_float(ax) * 16777216.0f);
    }
    uint e = ax - 0x38000000u;                     // rebias the exponent (127 - 15) << 23
    return sign | ((e + 0x0fffu + ((e >> 13) & 1u)) >> 13);
}

inline float f16_bits_to_f32(uint h) {
    uint sign = (h & 0x8000u) << 16;
    uint e = (h >> 10) & 0x1fu;
    uint m = h & 0x3ffu;
    if (e == 0u) {
        float v = (float) m * 5.9604644775390625e-8f;   // m * 2^-24, exact
        return as_float(as_uint(v) | sign);
    }
    if (e == 31u) {
        return as_float(sign | 0x7f800000u | (m << 13));
    }
    return as_float(sign | ((e + 112u) << 23) | (m << 13));
}

inline float round_f16(float x) {
    return f16_bits_to_f32(f32_to_f16_bits(x));
}

// float32 -> bfloat16 -> float32 with round to nearest even; NaN stays a quiet NaN (Codecs.f32ToBf16).
inline float round_bf16(float x) {
    uint u = as_uint(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return as_float(((u >> 16) | 64u) << 16);
    }
    return as_float(((u + (0x7fffu + ((u >> 16) & 1u))) >> 16) << 16);
}

inline int hsum_short16(short16 s) {
    int8 a = convert_int8(s.lo) + convert_int8(s.hi);
    int4 b = a.lo + a.hi;
    int2 c = b.lo + b.hi;
    return c.x + c.y;
}

inline float hsum_float8(float8 v) {
    float4 a = v.lo + v.hi;
    float2 b = a.lo + a.hi;
    return b.x + b.y;
}

// ---- activation conversions -----------------------------------------------------------------------

// Q8_0 quantization of `blocks` blocks of 32 floats (quantize_row_q8_0_ref with rint).
kernel void quantize_q8_0(global const float* x, global char* q, global float* d, int blocks) {
    int b = get_global_id(0);
    if (b >= blocks) {
        return;
    }
    global const float* xb = x + (size_t) b * QK;
    float16 v0 = vload16(0, xb);
    float16 v1 = vload16(1, xb);
    float16 m = fmax(fabs(v0), fabs(v1));
    float8 m8 = fmax(m.lo, m.hi);
    float4 m4 = fmax(m8.lo, m8.hi);
    float2 m2 = fmax(m4.lo, m4.hi);
    float amax = fmax(m2.x, m2.y);
    float dd = amax / 127.0f;
    float id = dd != 0.0f ? 1.0f / dd : 0.0f;
    d[b] = round_f16(dd);
    vstore16(convert_char16(convert_int16(rint(v0 * id))), 0, q + (size_t) b * QK);
    vstore16(convert_char16(convert_int16(rint(v1 * id))), 1, q + (size_t) b * QK);
}

// Rounds n floats through float16 (mode 1) or bfloat16 (mode 2) precision.
kernel void round_activations(global const float* x, global float* out, int n, int mode) {
    int i = get_global_id(0);
    if (i < n) {
        out[i] = mode == 1 ? round_f16(x[i]) : round_bf16(x[i]);
    }
}

// ---- matrix products: out[t][row] = w[row] . x[t] ---------------------------------------------------
// One work-item computes one row for TILE consecutive tokens, so each weight block is decoded once per
// TILE tokens. Global size: (rows rounded up, ceil(n / TILE)).

#define MM_QUANT(NAME, TILE, BLOCK_BYTES, DECODE)                                                          \
kernel void NAME(global const uchar* w, ulong rowBytes, int rows, int blocks,                          \
                 global const char* xq, global const float* xd, global float* out, int n) {            \
    int row = get_global_id(0);                                                                        \
    int t0 = get_global_id(1) * TILE;                                                                  \
    if (row >= rows) {                                                                                 \
        return;                                                                                        \
    }                                                                                                  \
    int tn = min(TILE, n - t0);                                                                        \
    global const uchar* wr = w + (size_t) row * rowBytes;                                              \
    float sum[TILE];                                                                                   \
    for (int j = 0; j < TILE; j++) {                                                                   \
        sum[j] = 0.0f;                                                                                 \
    }                                                                                                  \
    for (int b = 0; b < blocks; b++) {                                                                 \
        global const uchar* blk = wr + (size_t) b * BLOCK_BYTES;                                       \
        float dw = vload_half(0, (global const half*) blk);                                            \
        short16 w0, w1;                                                                                \
        DECODE                                                                                         \
        for (int j = 0; j < tn; j++) {                                                                 \
            size_t xb = (size_t) (t0 + j) * blocks + b;                                                \
            short16 x0 = convert_short16(vload16(0, xq + xb * QK));                                    \
            short16 x1 = convert_short16(vload16(1, xq + xb * QK));                                    \
            int isum = hsum_short16(w0 * x0 + w1 * x1);                                                \
            sum[j] += (float) isum * (dw * xd[xb]);                                                    \
        }                                                                                              \
    }                                                                                                  \
    for (int j = 0; j < tn; j++) {                                                                     \
        out[(size_t) (t0 + j) * rows + row] = sum[j];                                                  \
    }                                                                                                  \
}

// Q4_0: byte j holds element j (low nibble) and j + 16 (high nibble); value (q - 8) * d.
#define DECODE_Q4_0                                                                                    \
        uchar16 p = vload16(0, blk + 2);                                                               \
        w0 = convert_short16(p & (uchar16) 0x0F) - (short16) 8;                                        \
        w1 = convert_short16(p >> (uchar16) 4) - (short16) 8;

#define DECODE_Q8_0                                                                                    \
        w0 = convert_short16(vload16(0, (global const char*) (blk + 2)));                              \
        w1 = convert_short16(vload16(1, (global const char*) (blk + 2)));

MM_QUANT(mm_q4_0_1, 1, Q4_0_BYTES, DECODE_Q4_0)
MM_QUANT(mm_q4_0_4, 4, Q4_0_BYTES, DECODE_Q4_0)
MM_QUANT(mm_q8_0_1, 1, Q8_0_BYTES, DECODE_Q8_0)
MM_QUANT(mm_q8_0_4, 4, Q8_0_BYTES, DECODE_Q8_0)

// Dense weights (F32, F16, BF16) against float activations (already rounded for F16/BF16).
#define LOAD8_F32(r, c) vload8(0, ((global const float*) (r)) + (c))
#define LOAD1_F32(r, c) (((global const float*) (r))[c])
#define LOAD8_F16(r, c) vload_half8(0, ((global const half*) (r)) + (c))
#define LOAD1_F16(r, c) vload_half((c), (global const half*) (r))
#define LOAD8_BF16(r, c) as_float8(convert_uint8(vload8(0, ((global const ushort*) (r)) + (c))) << (uint8) 16)
#define LOAD1_BF16(r, c) as_float(((uint) ((global const ushort*) (r))[c]) << 16)

#define MM_DENSE(NAME, TILE, LOAD8, LOAD1)                                                                 \
kernel void NAME(global const uchar* w, ulong rowBytes, int rows, int cols,                            \
                 global const float* x, global float* out, int n) {                                    \
    int row = get_global_id(0);                                                                        \
    int t0 = get_global_id(1) * TILE;                                                                  \
    if (row >= rows) {                                                                                 \
        return;                                                                                        \
    }                                                                                                  \
    int tn = min(TILE, n - t0);                                                                        \
    global const uchar* wr = w + (size_t) row * rowBytes;                                              \
    float8 acc[TILE];                                                                                  \
    float tail[TILE];                                                                                  \
    for (int j = 0; j < TILE; j++) {                                                                   \
        acc[j] = (float8) 0.0f;                                                                        \
        tail[j] = 0.0f;                                                                                \
    }                                                                                                  \
    int c8 = cols & ~7;                                                                                \
    for (int c = 0; c < c8; c += 8) {                                                                  \
        float8 wv = LOAD8(wr, c);                                                                      \
        for (int j = 0; j < tn; j++) {                                                                 \
            acc[j] += wv * vload8(0, x + (size_t) (t0 + j) * cols + c);                                \
        }                                                                                              \
    }                                                                                                  \
    for (int c = c8; c < cols; c++) {                                                                  \
        float wv = LOAD1(wr, c);                                                                       \
        for (int j = 0; j < tn; j++) {                                                                 \
            tail[j] += wv * x[(size_t) (t0 + j) * cols + c];                                           \
        }                                                                                              \
    }                                                                                                  \
    for (int j = 0; j < tn; j++) {                                                                     \
        out[(size_t) (t0 + j) * rows + row] = hsum_float8(acc[j]) + tail[j];                           \
    }                                                                                                  \
}

MM_DENSE(mm_f32_1, 1, LOAD8_F32, LOAD1_F32)
MM_DENSE(mm_f32_4, 4, LOAD8_F32, LOAD1_F32)
MM_DENSE(mm_f16_1, 1, LOAD8_F16, LOAD1_F16)
MM_DENSE(mm_f16_4, 4, LOAD8_F16, LOAD1_F16)
MM_DENSE(mm_bf16_1, 1, LOAD8_BF16, LOAD1_BF16)
MM_DENSE(mm_bf16_4, 4, LOAD8_BF16, LOAD1_BF16)

// ---- embedding ------------------------------------------------------------------------------------

// out[t][i] = table[tokens[t]][i] * scale; global (dim, n).
kernel void embed(global const uchar* w, ulong rowBytes, int type, global const int* tokens, int dim, float scale,
                  global float* out) {
    int i = get_global_id(0);
    int t = get_global_id(1);
    if (i >= dim) {
        return;
    }
    global const uchar* r = w + (size_t) tokens[t] * rowBytes;
    float v;
    if (type == T_F32) {
        v = ((global const float*) r)[i];
    } else if (type == T_F16) {
        v = vload_half(i, (global const half*) r);
    } else if (type == T_BF16) {
        v = as_float(((uint) ((global const ushort*) r)[i]) << 16);
    } else if (type == T_Q8_0) {
        global const uchar* b = r + (size_t) (i / QK) * Q8_0_BYTES;
        v = vload_half(0, (global const half*) b) * (float) ((global const char*) b)[2 + i % QK];
    } else {
        global const uchar* b = r + (size_t) (i / QK) * Q4_0_BYTES;
        int j = i % QK;
        uint p = b[2 + (j & 15)];
        int q = j < 16 ? (int) (p & 15u) : (int) (p >> 4);
        v = vload_half(0, (global const half*) b) * (float) (q - 8);
    }
    if (scale != 1.0f) {
        v *= scale;
    }
    out[(size_t) t * dim + i] = v;
}

// ---- normalization and position -------------------------------------------------------------------

// RMSNorm, one work-group (power-of-two size) per row; out may be x.
kernel void rms_norm(global const float* x, global const float* w, global float* out, int width, float eps,
                     local float* red) {
    int row = get_group_id(0);
    int lid = get_local_id(0);
    int ls = get_local_size(0);
    global const float* xr = x + (size_t) row * width;
    global float* orow = out + (size_t) row * width;
    float s = 0.0f;
    for (int i = lid; i < width; i += ls) {
        s += xr[i] * xr[i];
    }
    red[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = ls / 2; off > 0; off >>= 1) {
        if (lid < off) {
            red[lid] += red[lid + off];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float scale = 1.0f / sqrt(red[0] / (float) width + eps);
    for (int i = lid; i < width; i += ls) {
        orow[i] = xr[i] * scale * w[i];
    }
}

// RoPE in place; global (dims/2, heads, n). theta_i = pos * thetaScale^i by repeated multiplication,
// as ggml and the oracle compute it.
kernel void rope(global float* x, int heads, int headDim, int startPos, int dims, float freqScale, float thetaScale,
                 int neox) {
    int i = get_global_id(0);
    int h = get_global_id(1);
    int t = get_global_id(2);
    float theta = (float) (startPos + t);
    for (int k = 0; k < i; k++) {
        theta *= thetaScale;
    }
    float angle = freqScale * theta;
    float c = cos(angle);
    float s = sin(angle);
    size_t o = ((size_t) t * heads + h) * headDim;
    size_t i0 = neox ? o + i : o + 2 * i;
    size_t i1 = neox ? o + i + dims / 2 : o + 2 * i + 1;
    float x0 = x[i0];
    float x1 = x[i1];
    x[i0] = x0 * c - x1 * s;
    x[i1] = x0 * s + x1 * c;
}

// ---- KV cache and attention -----------------------------------------------------------------------

// Stores n rows of `row` floats for positions startPos.. into ring slots pos % cap; global (row, n).
kernel void kv_store(global const float* src, global uchar* dst, int row, int startPos, int cap, int f16) {
    int i = get_global_id(0);
    int t = get_global_id(1);
    if (i >= row) {
        return;
    }
    size_t slot = (size_t) ((startPos + t) % cap);
    float v = src[(size_t) t * row + i];
    if (f16) {
        ((global ushort*) dst)[slot * row + i] = (ushort) f32_to_f16_bits(v);
    } else {
        ((global float*) dst)[slot * row + i] = v;
    }
}

inline float cache_dot(global const uchar* kc, size_t k0, local const float* qh, int kd, int f16) {
    float8 acc = (float8) 0.0f;
    float tail = 0.0f;
    int d8 = kd & ~7;
    if (f16) {
        global const half* kk = (global const half*) kc + k0;
        for (int i = 0; i < d8; i += 8) {
            acc += vload8(0, qh + i) * vload_half8(0, kk + i);
        }
        for (int i = d8; i < kd; i++) {
            tail += qh[i] * vload_half(i, kk);
        }
    } else {
        global const float* kk = (global const float*) kc + k0;
        for (int i = 0; i < d8; i += 8) {
            acc += vload8(0, qh + i) * vload8(0, kk + i);
        }
        for (int i = d8; i < kd; i++) {
            tail += qh[i] * kk[i];
        }
    }
    return hsum_float8(acc) + tail;
}

// Causal attention, one work-group (power-of-two size) per (head, token): global (heads * ls, n).
// scores: scratch of maxSpan floats per (token, head).
kernel void attention(global const float* q, global const uchar* kc, global const uchar* vc, global float* out,
                      global float* scores, int heads, int kvHeads, int kd, int vd, float scale, int window,
                      float softcap, int startPos, int cap, int f16, int maxSpan, local float* qh, local float* red) {
    int h = get_group_id(0);
    int t = get_group_id(1);
    int lid = get_local_id(0);
    int ls = get_local_size(0);
    int pos = startPos + t;
    int lo = window > 0 ? max(0, pos - window + 1) : 0;
    int kvh = h / (heads / kvHeads);
    int keyRow = kvHeads * kd;
    int valueRow = kvHeads * vd;

    global const float* qr = q + ((size_t) t * heads + h) * kd;
    for (int i = lid; i < kd; i += ls) {
        qh[i] = f16 ? round_f16(qr[i]) : qr[i];
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    global float* sc = scores + ((size_t) t * heads + h) * maxSpan;
    float mx = -INFINITY;
    for (int p = lo + lid; p <= pos; p += ls) {
        size_t k0 = (size_t) (p % cap) * keyRow + (size_t) kvh * kd;
        float s = cache_dot(kc, k0, qh, kd, f16) * scale;
        if (softcap > 0.0f) {
            s = softcap * tanh(s / softcap);
        }
        sc[p - lo] = s;
        mx = fmax(mx, s);
    }
    red[lid] = mx;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = ls / 2; off > 0; off >>= 1) {
        if (lid < off) {
            red[lid] = fmax(red[lid], red[lid + off]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float m = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);

    float sum = 0.0f;
    for (int p = lo + lid; p <= pos; p += ls) {
        float e = exp(sc[p - lo] - m);
        sc[p - lo] = e;
        sum += e;
    }
    red[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = ls / 2; off > 0; off >>= 1) {
        if (lid < off) {
            red[lid] += red[lid + off];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float inv = 1.0f / red[0];
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);

    global float* o = out + ((size_t) t * heads + h) * vd;
    for (int i = lid; i < vd; i += ls) {
        float acc = 0.0f;
        for (int p = lo; p <= pos; p++) {
            size_t v0 = (size_t) (p % cap) * valueRow + (size_t) kvh * vd + i;
            float v = f16 ? vload_half(v0, (global const half*) vc) : ((global const float*) vc)[v0];
            acc += (sc[p - lo] * inv) * v;
        }
        o[i] = acc;
    }
}

// ---- element-wise ---------------------------------------------------------------------------------

// gate = gelu(gate) * up, GELU read from the fp16 table (input rounded to f16 indexes it), saturated
// outside [-10, 10] as ScalarKernels.geluTable.
kernel void gelu_mul(global float* g, global const float* u, global const float* table, int n) {
    int i = get_global_id(0);
    if (i < n) {
        float x = g[i];
        float v = x <= -10.0f ? 0.0f : (x >= 10.0f ? x : table[f32_to_f16_bits(x)]);
        g[i] = v * u[i];
    }
}

kernel void silu_mul(global float* g, global const float* u, int n) {
    int i = get_global_id(0);
    if (i < n) {
        float x = g[i];
        g[i] = (x / (1.0f + exp(-x))) * u[i];
    }
}

kernel void add(global float* x, global const float* y, int n) {
    int i = get_global_id(0);
    if (i < n) {
        x[i] += y[i];
    }
}
