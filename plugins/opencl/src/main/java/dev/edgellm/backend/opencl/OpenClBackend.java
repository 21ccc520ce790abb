package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.UnsupportedTensorException;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.backend.scalar.ScalarKernels;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The OpenCL backend: weights are uploaded once into device buffers holding the raw ggml bytes;
 * activations and the KV cache live on the device; every op is a kernel on one in-order command
 * queue, so only {@link #read} (and the blocking {@link #write}s) wait for the device. The kernels
 * ({@code kernels.cl}) are compiled once per instance.
 *
 * <p>Memory policy: every buffer must fit the device's largest allocation
 * ({@code CL_DEVICE_MAX_MEM_ALLOC_SIZE}) and all buffers together its global memory. A weight that
 * breaks either limit is refused at {@link #weight} with a message that names it and the limit:
 * there is no split of layers between the device and the CPU, the model runs entirely on the
 * device or not at all (use a CPU backend then).
 */
public final class OpenClBackend implements Backend {
    /** Weight types the kernels compute with. */
    static final Set<GgmlType> TYPES = EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0);
    private static final String SOURCE = "kernels.cl";
    /** Work-group size of matrix-product rows. */
    private static final int MM_LOCAL = 64;
    /** Largest upload chunk (a ByteBuffer view is limited to 2 GiB). */
    private static final long UPLOAD_CHUNK = 1L << 30;
    /**
     * Queue depth bound: every {@value}th kernel carries an event, and the host waits for the oldest
     * of more than {@link #MAX_MARKERS} such events. A caller that only enqueues (a timed loop of
     * products, as calibration runs) then stays within ~128 commands of the device instead of
     * queueing thousands that its final read would have to wait for.
     */
    private static final int MARK_EVERY = 32;
    private static final int MAX_MARKERS = 4;

    private final OpenClDevice device;
    /** The device kernels run on: {@link #device} itself, or a sub-device of it limited to the thread option. */
    private final cl_device_id computeDevice;
    private final cl_device_id subDevice;
    private final int threads;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    private final int reduceLocal;
    private final int mmLocal;
    private final Map<cl_mem, Long> buffers = new IdentityHashMap<>();
    private final java.util.ArrayDeque<cl_event> markers = new java.util.ArrayDeque<>();
    private int sinceMarker;
    private long deviceBytes;
    private long weightBytes;
    private boolean closed;

    // scratch, grown on demand
    private cl_mem xq;
    private long xqBytes;
    private cl_mem xd;
    private long xdBytes;
    private cl_mem xr;
    private long xrBytes;
    private cl_mem scores;
    private long scoresBytes;
    private cl_mem tokenIds;
    private long tokenIdsBytes;
    private final cl_mem geluTable;

    OpenClBackend(OpenClDevice device, BackendOptions options) {
        this.device = device;
        CL.setExceptionsEnabled(true);
        cl_device_id sub = device.typeName().equals("CPU") && options.threads() < device.computeUnits()
                ? subDevice(device, options.threads()) : null;
        this.subDevice = sub;
        this.computeDevice = sub != null ? sub : device.id();
        this.threads = sub != null ? options.threads() : Math.max(1, device.computeUnits());
        cl_device_id[] devs = {computeDevice};
        org.jocl.cl_context_properties props = new org.jocl.cl_context_properties();
        props.addProperty(CL.CL_CONTEXT_PLATFORM, device.platform());
        this.context = CL.clCreateContext(props, 1, devs, null, null, null);
        cl_command_queue q;
        try {
            q = CL.clCreateCommandQueueWithProperties(context, computeDevice, new org.jocl.cl_queue_properties(), null);
        } catch (CLException | UnsatisfiedLinkError e) {
            q = createQueue12(context, computeDevice);
        }
        this.queue = q;
        String options12 = device.correctlyRoundedDivide() ? "-cl-fp32-correctly-rounded-divide-sqrt" : "";
        this.program = build(context, computeDevice, source(), options12);
        for (String k : new String[] {"quantize_q8_0", "round_activations", "mm_q4_0_1", "mm_q4_0_4", "mm_q8_0_1", "mm_q8_0_4",
                "mm_f32_1", "mm_f32_4", "mm_f16_1", "mm_f16_4", "mm_bf16_1", "mm_bf16_4", "embed", "rms_norm", "rope", "kv_store",
                "attention", "gelu_mul", "silu_mul", "add"}) {
            kernels.put(k, CL.clCreateKernel(program, k, null));
        }
        this.reduceLocal = powerOfTwoAtMost(Math.min(64, Math.min(kernelWorkGroup("rms_norm"), kernelWorkGroup("attention"))));
        int mm = Integer.MAX_VALUE;
        for (String k : new String[] {"mm_q4_0_1", "mm_q4_0_4", "mm_q8_0_1", "mm_q8_0_4", "mm_f32_1", "mm_f32_4", "mm_f16_1",
                "mm_f16_4", "mm_bf16_1", "mm_bf16_4"}) {
            mm = Math.min(mm, kernelWorkGroup(k));
        }
        this.mmLocal = mm >= MM_LOCAL ? MM_LOCAL : 0;
        float[] table = new float[1 << 16];
        for (int i = 0; i < table.length; i++) {
            table[i] = Codecs.f16ToF32(Codecs.f32ToF16(ScalarKernels.gelu(Codecs.f16ToF32((short) i))));
        }
        this.geluTable = buffer(4L * table.length, "GELU table");
        CL.clEnqueueWriteBuffer(queue, geluTable, CL.CL_TRUE, 0, 4L * table.length, Pointer.to(table), 0, null, null);
    }

    /**
     * On a CPU device (pocl), honours the thread option by partitioning the device into sub-devices
     * of {@code threads} compute units and keeping the first; null when the driver cannot partition
     * (the whole device is used then and {@link #threads()} says so).
     */
    private static cl_device_id subDevice(OpenClDevice device, int threads) {
        try {
            org.jocl.cl_device_partition_property p = new org.jocl.cl_device_partition_property();
            p.addProperty(CL.CL_DEVICE_PARTITION_EQUALLY, threads);
            int[] n = new int[1];
            CL.clCreateSubDevices(device.id(), p, 0, null, n);
            if (n[0] < 1) {
                return null;
            }
            cl_device_id[] subs = new cl_device_id[n[0]];
            CL.clCreateSubDevices(device.id(), p, subs.length, subs, null);
            for (int i = 1; i < subs.length; i++) {
                CL.clReleaseDevice(subs[i]);
            }
            return subs[0];
        } catch (CLException | UnsatisfiedLinkError e) {
            return null;
        }
    }

    @SuppressWarnings("deprecation")
    private static cl_command_queue createQueue12(cl_context context, cl_device_id device) {
        return CL.clCreateCommandQueue(context, device, 0, null);
    }

    private static String source() {
        try (InputStream in = OpenClBackend.class.getResourceAsStream(SOURCE)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + SOURCE + " is missing from the opencl backend's jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static cl_program build(cl_context context, cl_device_id device, String src, String options) {
        cl_program p = CL.clCreateProgramWithSource(context, 1, new String[] {src}, null, null);
        try {
            CL.clBuildProgram(p, 1, new cl_device_id[] {device}, options, null, null);
        } catch (CLException e) {
            long[] size = new long[1];
            CL.clGetProgramBuildInfo(p, device, CL.CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] log = new byte[(int) size[0]];
            CL.clGetProgramBuildInfo(p, device, CL.CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
            CL.clReleaseProgram(p);
            throw new IllegalStateException("OpenCL kernels failed to compile (" + CL.stringFor_errorCode(e.getStatus()) + "):\n"
                    + new String(log, StandardCharsets.UTF_8).trim(), e);
        }
        return p;
    }

    private int kernelWorkGroup(String name) {
        long[] v = new long[1];
        CL.clGetKernelWorkGroupInfo(kernels.get(name), computeDevice, CL.CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(v), null);
        return (int) Math.min(Integer.MAX_VALUE, v[0]);
    }

    private static int powerOfTwoAtMost(int v) {
        return Integer.highestOneBit(Math.max(1, v));
    }

    /** The device this backend computes on. */
    public OpenClDevice device() {
        return device;
    }

    @Override
    public String id() {
        return OpenClBackendProvider.ID;
    }

    /**
     * Compute units in use: on a CPU device that can be partitioned, the thread option (when below the
     * device's compute units); otherwise all of the device's (a GPU schedules its own).
     */
    @Override
    public int threads() {
        return threads;
    }

    /** Bytes of device memory this backend holds now. */
    public long deviceBytes() {
        return deviceBytes;
    }

    /** Device memory held now: weights, activations, KV caches and scratch. */
    @Override
    public long ownedBytes() {
        return deviceBytes;
    }

    // ---- memory ---------------------------------------------------------------------------------

    private cl_mem buffer(long bytes, String what) {
        if (bytes > device.maxAlloc()) {
            throw new DeviceMemoryException(String.format(Locale.ROOT,
                    "%s needs %s, more than the largest buffer OpenCL device '%s' can allocate (%s)", what, size(bytes), device.name(),
                    size(device.maxAlloc())));
        }
        if (deviceBytes + bytes > device.globalMem()) {
            throw new DeviceMemoryException(String.format(Locale.ROOT,
                    "%s (%s) does not fit the memory of OpenCL device '%s': %s in use of %s. EdgeLLM does not split a model between "
                            + "the device and the CPU; use a CPU backend (--backend vector), a shorter context or a smaller model",
                    what, size(bytes), device.name(), size(deviceBytes), size(device.globalMem())));
        }
        cl_mem m;
        try {
            m = CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, Math.max(4, bytes), null, null);
        } catch (CLException e) {
            throw new DeviceMemoryException("OpenCL device '" + device.name() + "' could not allocate " + size(bytes) + " for " + what + ": "
                    + CL.stringFor_errorCode(e.getStatus()));
        }
        buffers.put(m, bytes);
        deviceBytes += bytes;
        return m;
    }

    /** Bytes of a buffer this backend still holds; 0 once released. */
    long bufferBytes(cl_mem m) {
        Long b = m == null ? null : buffers.get(m);
        return b == null ? 0 : b;
    }

    private void release(cl_mem m) {
        if (m == null) {
            return;
        }
        Long bytes = buffers.remove(m);
        if (bytes != null) {
            deviceBytes -= bytes;
            CL.clReleaseMemObject(m); // freed once the queued commands that use it have finished
        }
    }

    @Override
    public Weight weight(GgufTensor tensor) {
        if (!TYPES.contains(tensor.type())) {
            throw new UnsupportedTensorException("tensor '" + tensor.name() + "' has type " + tensor.type()
                    + ", which the opencl backend does not support (supported: " + TYPES + ")");
        }
        long bytes = tensor.byteSize();
        if (bytes > device.maxAlloc()) {
            throw new UnsupportedTensorException(String.format(Locale.ROOT,
                    "tensor '%s' (%s) is larger than the largest buffer OpenCL device '%s' can allocate (%s, CL_DEVICE_MAX_MEM_ALLOC_SIZE); "
                            + "use a CPU backend (--backend vector)", tensor.name(), size(bytes), device.name(), size(device.maxAlloc())));
        }
        if (deviceBytes + bytes > device.globalMem()) {
            throw new DeviceMemoryException(String.format(Locale.ROOT,
                    "the model does not fit device memory: tensor '%s' needs %s with %s of weights (%s in all) already on OpenCL device "
                            + "'%s', which has %s of global memory. EdgeLLM does not split layers between the device and the CPU; use a "
                            + "CPU backend (--backend vector) or a smaller model", tensor.name(), size(bytes), size(weightBytes),
                    size(deviceBytes), device.name(), size(device.globalMem())));
        }
        cl_mem mem = buffer(bytes, "tensor '" + tensor.name() + "'");
        weightBytes += bytes;
        MemorySegment data = tensor.data();
        for (long off = 0; off < bytes; off += UPLOAD_CHUNK) {
            long len = Math.min(UPLOAD_CHUNK, bytes - off);
            CL.clEnqueueWriteBuffer(queue, mem, CL.CL_TRUE, off, len, Pointer.to(data.asSlice(off, len).asByteBuffer()), 0, null, null);
        }
        cl_mem floats = null;
        if (tensor.rows() == 1 && tensor.type() != GgmlType.F32) {
            // a norm's gain vector: decoded once so rmsNorm reads floats whatever the file stores
            float[] v = new float[tensor.cols()];
            Codecs.dequantizeRow(tensor.type(), data, 0, v, 0, v.length);
            floats = buffer(4L * v.length, "tensor '" + tensor.name() + "' as floats");
            CL.clEnqueueWriteBuffer(queue, floats, CL.CL_TRUE, 0, 4L * v.length, Pointer.to(v), 0, null, null);
        }
        return new OpenClWeight(tensor.name(), tensor.type(), tensor.rows(), tensor.cols(), tensor.rowBytes(), mem, floats, this);
    }

    /** Frees a weight's device buffers (a model being unloaded). */
    void releaseWeight(OpenClWeight w) {
        if (closed) {
            return;
        }
        Long bytes = buffers.get(w.mem());
        if (bytes != null) {
            weightBytes -= bytes;
        }
        release(w.mem());
        release(w.floats());
    }

    /** Frees an activation buffer (a session being closed). */
    void releaseActivations(OpenClActivations a) {
        if (!closed) {
            release(a.mem());
        }
    }

    @Override
    public Activations allocate(int floats) {
        if (floats < 0) {
            throw new IllegalArgumentException("negative buffer size " + floats);
        }
        long bytes = 4L * Math.max(1, floats);
        cl_mem m = buffer(bytes, "an activation buffer of " + floats + " floats");
        CL.clEnqueueFillBuffer(queue, m, Pointer.to(new float[] {0f}), Sizeof.cl_float, 0, bytes, 0, null, null);
        return new OpenClActivations(m, floats, this);
    }

    @Override
    public void write(float[] src, int srcOffset, Activations dst, int dstOffset, int len) {
        OpenClActivations d = act(dst);
        check(d, dstOffset, len);
        if (srcOffset < 0 || srcOffset + len > src.length) {
            throw new IndexOutOfBoundsException("source range " + srcOffset + "+" + len + " outside " + src.length);
        }
        if (len > 0) {
            CL.clEnqueueWriteBuffer(queue, d.mem(), CL.CL_TRUE, 4L * dstOffset, 4L * len, Pointer.to(src).withByteOffset(4L * srcOffset),
                    0, null, null);
        }
    }

    @Override
    public void read(Activations src, int srcOffset, float[] dst, int dstOffset, int len) {
        OpenClActivations s = act(src);
        check(s, srcOffset, len);
        if (dstOffset < 0 || dstOffset + len > dst.length) {
            throw new IndexOutOfBoundsException("destination range " + dstOffset + "+" + len + " outside " + dst.length);
        }
        if (len > 0) {
            CL.clEnqueueReadBuffer(queue, s.mem(), CL.CL_TRUE, 4L * srcOffset, 4L * len, Pointer.to(dst).withByteOffset(4L * dstOffset),
                    0, null, null);
            releaseMarkers();
        }
    }

    @Override
    public void copy(Activations src, int srcOffset, Activations dst, int dstOffset, int len) {
        OpenClActivations s = act(src);
        OpenClActivations d = act(dst);
        check(s, srcOffset, len);
        check(d, dstOffset, len);
        if (len > 0) {
            CL.clEnqueueCopyBuffer(queue, s.mem(), d.mem(), 4L * srcOffset, 4L * dstOffset, 4L * len, 0, null, null);
        }
    }

    @Override
    public KvCache kvCache(KvCacheSpec spec) {
        int layers = spec.layers();
        cl_mem[] keys = new cl_mem[layers];
        cl_mem[] values = new cl_mem[layers];
        int el = spec.f16() ? 2 : 4;
        try {
            for (int l = 0; l < layers; l++) {
                long slots = spec.capacity()[l];
                long kb = slots * spec.kvHeads() * spec.keyDim() * el;
                long vb = slots * spec.kvHeads() * spec.valueDim() * el;
                keys[l] = buffer(kb, "the KV cache (layer " + l + " keys)");
                values[l] = buffer(vb, "the KV cache (layer " + l + " values)");
                CL.clEnqueueFillBuffer(queue, keys[l], Pointer.to(new int[] {0}), Sizeof.cl_int, 0, Math.max(4, kb), 0, null, null);
                CL.clEnqueueFillBuffer(queue, values[l], Pointer.to(new int[] {0}), Sizeof.cl_int, 0, Math.max(4, vb), 0, null, null);
            }
        } catch (RuntimeException e) {
            for (int l = 0; l < layers; l++) {
                release(keys[l]);
                release(values[l]);
            }
            throw e;
        }
        return new OpenClKvCache(spec, keys, values, this);
    }

    void releaseCache(OpenClKvCache cache) {
        if (closed) {
            return;
        }
        for (int l = 0; l < cache.keys.length; l++) {
            release(cache.keys[l]);
            release(cache.values[l]);
        }
    }

    // ---- ops --------------------------------------------------------------------------------------

    @Override
    public void embed(Weight table, int[] tokens, int n, float scale, Activations out) {
        OpenClWeight w = weight(table);
        OpenClActivations o = act(out);
        check(o, 0, Math.multiplyExact(n, w.cols()));
        for (int t = 0; t < n; t++) {
            if (tokens[t] < 0 || tokens[t] >= w.rows()) {
                throw new IllegalArgumentException("token id " + tokens[t] + " is outside the vocabulary of " + w.rows());
            }
        }
        if (n == 0) {
            return;
        }
        if (tokenIdsBytes < 4L * n) {
            release(tokenIds);
            tokenIdsBytes = 4L * Math.max(n, 64);
            tokenIds = buffer(tokenIdsBytes, "token ids");
        }
        CL.clEnqueueWriteBuffer(queue, tokenIds, CL.CL_TRUE, 0, 4L * n, Pointer.to(tokens), 0, null, null);
        run("embed", new long[] {w.cols(), n}, null, w.mem(), w.rowBytes(), w.type().id(), tokenIds, w.cols(), scale, o.mem());
    }

    @Override
    public void matmul(Weight weight, Activations xa, Activations outa, int n) {
        OpenClWeight w = weight(weight);
        OpenClActivations x = act(xa);
        OpenClActivations out = act(outa);
        int rows = w.rows();
        int cols = w.cols();
        int total = Math.multiplyExact(n, cols);
        check(x, 0, total);
        check(out, 0, Math.multiplyExact(n, rows));
        if (n <= 0) {
            return;
        }
        int tile = n == 1 ? 1 : 4;
        long[] global = {roundUp(rows, Math.max(1, mmLocal)), (n + tile - 1) / tile};
        long[] local = mmLocal > 0 ? new long[] {mmLocal, 1} : null;
        switch (w.type()) {
            case Q4_0, Q8_0 -> {
                int blocks = cols / Codecs.QK;
                int allBlocks = n * blocks;
                if (xqBytes < total) {
                    release(xq);
                    xqBytes = total;
                    xq = buffer(xqBytes, "quantized activations");
                }
                if (xdBytes < 4L * allBlocks) {
                    release(xd);
                    xdBytes = 4L * allBlocks;
                    xd = buffer(xdBytes, "activation scales");
                }
                run("quantize_q8_0", new long[] {allBlocks}, null, x.mem(), xq, xd, allBlocks);
                String k = (w.type() == GgmlType.Q4_0 ? "mm_q4_0_" : "mm_q8_0_") + tile;
                run(k, global, local, w.mem(), w.rowBytes(), rows, blocks, xq, xd, out.mem(), n);
            }
            case F16, BF16 -> {
                if (xrBytes < 4L * total) {
                    release(xr);
                    xrBytes = 4L * total;
                    xr = buffer(xrBytes, "rounded activations");
                }
                run("round_activations", new long[] {total}, null, x.mem(), xr, total, w.type() == GgmlType.F16 ? 1 : 2);
                String k = (w.type() == GgmlType.F16 ? "mm_f16_" : "mm_bf16_") + tile;
                run(k, global, local, w.mem(), w.rowBytes(), rows, cols, xr, out.mem(), n);
            }
            case F32 -> run("mm_f32_" + tile, global, local, w.mem(), w.rowBytes(), rows, cols, x.mem(), out.mem(), n);
            default -> throw new IllegalStateException("unsupported weight type " + w.type());
        }
    }

    @Override
    public void rmsNorm(Activations xa, Weight weight, Activations outa, int width, int rows, float eps) {
        OpenClWeight w = weight(weight);
        OpenClActivations x = act(xa);
        OpenClActivations out = act(outa);
        check(x, 0, Math.multiplyExact(width, rows));
        check(out, 0, Math.multiplyExact(width, rows));
        if ((long) w.rows() * w.cols() < width) {
            throw new IllegalArgumentException("norm weight '" + w.name() + "' has " + (long) w.rows() * w.cols() + " elements, need " + width);
        }
        if (rows <= 0) {
            return;
        }
        cl_mem gain = w.floats() != null ? w.floats() : w.mem();
        run("rms_norm", new long[] {(long) rows * reduceLocal}, new long[] {reduceLocal}, x.mem(), gain, out.mem(), width, eps,
                new Local(4L * reduceLocal));
    }

    @Override
    public void rope(Activations xa, int n, int heads, int headDim, int startPos, RopeSpec rope) {
        OpenClActivations x = act(xa);
        check(x, 0, Math.multiplyExact(Math.multiplyExact(n, heads), headDim));
        if (n <= 0 || rope.dims() < 2) {
            return;
        }
        float thetaScale = (float) Math.pow(rope.freqBase(), -2.0 / rope.dims());
        run("rope", new long[] {rope.dims() / 2, heads, n}, null, x.mem(), heads, headDim, startPos, rope.dims(), rope.freqScale(),
                thetaScale, rope.neox() ? 1 : 0);
    }

    @Override
    public void kvStore(KvCache cache, int layer, Activations k, Activations v, int startPos, int n) {
        OpenClKvCache c = cache(cache);
        KvCacheSpec s = c.spec();
        int keyRow = s.kvHeads() * s.keyDim();
        int valueRow = s.kvHeads() * s.valueDim();
        check(act(k), 0, Math.multiplyExact(n, keyRow));
        check(act(v), 0, Math.multiplyExact(n, valueRow));
        int cap = s.capacity()[layer];
        if (n > cap) {
            throw new IllegalArgumentException("storing " + n + " positions into a layer of " + cap + " slots");
        }
        if (n <= 0) {
            return;
        }
        int f16 = s.f16() ? 1 : 0;
        run("kv_store", new long[] {keyRow, n}, null, act(k).mem(), c.keys[layer], keyRow, startPos, cap, f16);
        run("kv_store", new long[] {valueRow, n}, null, act(v).mem(), c.values[layer], valueRow, startPos, cap, f16);
    }

    @Override
    public void attention(Activations qa, KvCache cache, int layer, int startPos, int n, AttentionSpec spec, Activations outa) {
        OpenClKvCache c = cache(cache);
        OpenClActivations q = act(qa);
        OpenClActivations out = act(outa);
        check(q, 0, Math.multiplyExact(n, spec.heads() * spec.keyDim()));
        check(out, 0, Math.multiplyExact(n, spec.heads() * spec.valueDim()));
        if (n <= 0) {
            return;
        }
        int maxSpan = spec.window() > 0 ? Math.min(spec.window(), startPos + n) : startPos + n;
        long need = 4L * n * spec.heads() * maxSpan;
        if (scoresBytes < need) {
            release(scores);
            scoresBytes = need;
            scores = buffer(scoresBytes, "attention scores");
        }
        long localNeed = 4L * (spec.keyDim() + reduceLocal);
        if (localNeed > device.localMem()) {
            throw new UnsupportedOperationException("attention with head size " + spec.keyDim() + " needs " + localNeed
                    + " bytes of local memory; OpenCL device '" + device.name() + "' has " + device.localMem());
        }
        KvCacheSpec s = c.spec();
        run("attention", new long[] {(long) spec.heads() * reduceLocal, n}, new long[] {reduceLocal, 1}, q.mem(), c.keys[layer],
                c.values[layer], out.mem(), scores, spec.heads(), spec.kvHeads(), spec.keyDim(), spec.valueDim(), spec.scale(),
                spec.window(), spec.softcap(), startPos, s.capacity()[layer], s.f16() ? 1 : 0, maxSpan, new Local(4L * spec.keyDim()),
                new Local(4L * reduceLocal));
    }

    @Override
    public void geluMul(Activations gate, Activations up, int len) {
        check(act(gate), 0, len);
        check(act(up), 0, len);
        if (len > 0) {
            run("gelu_mul", new long[] {len}, null, act(gate).mem(), act(up).mem(), geluTable, len);
        }
    }

    @Override
    public void siluMul(Activations gate, Activations up, int len) {
        check(act(gate), 0, len);
        check(act(up), 0, len);
        if (len > 0) {
            run("silu_mul", new long[] {len}, null, act(gate).mem(), act(up).mem(), len);
        }
    }

    @Override
    public void add(Activations x, Activations y, int len) {
        check(act(x), 0, len);
        check(act(y), 0, len);
        if (len > 0) {
            run("add", new long[] {len}, null, act(x).mem(), act(y).mem(), len);
        }
    }

    /** Blocks until every queued command has finished. */
    public void finish() {
        CL.clFinish(queue);
        releaseMarkers();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            CL.clFinish(queue);
        } finally {
            closed = true;
            releaseMarkers();
            for (cl_mem m : new ArrayList<>(buffers.keySet())) {
                CL.clReleaseMemObject(m);
            }
            buffers.clear();
            deviceBytes = 0;
            for (cl_kernel k : kernels.values()) {
                CL.clReleaseKernel(k);
            }
            kernels.clear();
            CL.clReleaseProgram(program);
            CL.clReleaseCommandQueue(queue);
            CL.clReleaseContext(context);
            if (subDevice != null) {
                CL.clReleaseDevice(subDevice);
            }
        }
    }

    // ---- plumbing ---------------------------------------------------------------------------------

    /** A {@code local} kernel argument of this many bytes. */
    private record Local(long bytes) {}

    private void run(String name, long[] global, long[] local, Object... args) {
        if (closed) {
            throw new IllegalStateException("the opencl backend is closed");
        }
        cl_kernel k = kernels.get(name);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case cl_mem m -> CL.clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(m));
                case Integer v -> CL.clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
                case Float v -> CL.clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
                case Long v -> CL.clSetKernelArg(k, i, Sizeof.cl_ulong, Pointer.to(new long[] {v}));
                case Local l -> CL.clSetKernelArg(k, i, l.bytes(), null);
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            }
        }
        cl_event marker = null;
        if (++sinceMarker >= MARK_EVERY) {
            sinceMarker = 0;
            marker = new cl_event();
        }
        CL.clEnqueueNDRangeKernel(queue, k, global.length, null, global, local, 0, null, marker);
        if (marker != null) {
            markers.add(marker);
            if (markers.size() > MAX_MARKERS) {
                cl_event oldest = markers.poll();
                CL.clWaitForEvents(1, new cl_event[] {oldest});
                CL.clReleaseEvent(oldest);
            }
        }
    }

    /** After a blocking read the in-order queue is empty: the markers are complete. */
    private void releaseMarkers() {
        for (cl_event e : markers) {
            CL.clReleaseEvent(e);
        }
        markers.clear();
        sinceMarker = 0;
    }

    private static long roundUp(long v, long m) {
        return (v + m - 1) / m * m;
    }

    private static void check(OpenClActivations a, int offset, int len) {
        if (offset < 0 || len < 0 || (long) offset + len > a.length()) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + len + " outside a buffer of " + a.length() + " floats");
        }
    }

    private OpenClActivations act(Activations a) {
        if (a instanceof OpenClActivations o && buffers.containsKey(o.mem())) {
            return o;
        }
        throw new IllegalArgumentException("activations " + a + " do not belong to this opencl backend");
    }

    private OpenClWeight weight(Weight w) {
        if (w instanceof OpenClWeight o && buffers.containsKey(o.mem())) {
            return o;
        }
        throw new IllegalArgumentException("weight " + (w == null ? null : w.name()) + " does not belong to this opencl backend");
    }

    private OpenClKvCache cache(KvCache c) {
        if (c instanceof OpenClKvCache o && o.owner == this) {
            return o;
        }
        throw new IllegalArgumentException("KV cache does not belong to this opencl backend");
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }

    /** Activations in a device buffer of float32. */
    record OpenClActivations(cl_mem mem, int length, OpenClBackend owner) implements Activations {
        @Override
        public void close() {
            owner.releaseActivations(this);
        }
    }

    /**
     * A weight in a device buffer holding its raw ggml bytes; 1-row weights (norm gains) of a type
     * other than F32 also keep a float32 copy.
     */
    record OpenClWeight(String name, GgmlType type, int rows, int cols, long rowBytes, cl_mem mem, cl_mem floats, OpenClBackend owner)
            implements Weight {
        @Override
        public long ownedBytes() {
            return owner.bufferBytes(mem) + owner.bufferBytes(floats);
        }

        @Override
        public void close() {
            owner.releaseWeight(this);
        }
    }

    /** Per layer, key and value buffers of {@code capacity} slots (f16 bits or float32). */
    static final class OpenClKvCache implements KvCache {
        private final KvCacheSpec spec;
        final cl_mem[] keys;
        final cl_mem[] values;
        final OpenClBackend owner;
        private boolean closed;

        OpenClKvCache(KvCacheSpec spec, cl_mem[] keys, cl_mem[] values, OpenClBackend owner) {
            this.spec = spec;
            this.keys = keys;
            this.values = values;
            this.owner = owner;
        }

        @Override
        public KvCacheSpec spec() {
            return spec;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                owner.releaseCache(this);
            }
        }
    }

}
