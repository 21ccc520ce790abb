package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.L;

import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;

/**
 * The vector backend's KV cache: values as rows, keys transposed in tiles of {@link Simd#L} slots,
 * so that one vector load gives element {@code i} of {@code L} consecutive keys and the attention
 * kernel ({@link TiledAttention}) computes {@code L} scores at once, each lane summing its own key's
 * products in index order (the oracle's order: the scores are its bits).
 *
 * <pre>
 *   keys   (per layer)  [tile = slot / L][kvHead][i &lt; keyDim][lane = slot % L]
 *   values (per layer)  [slot][kvHead][i &lt; valueDim]
 * </pre>
 * Elements are float16 bits ({@code short[]}) or float32, as the spec says; positions map to slots
 * as in every KV cache ({@code pos % capacity}). The key array has room for whole tiles (at most
 * {@code L - 1} slots more than the capacity), which is the only difference in size.
 */
final class TiledKvCache implements KvCache {
    private final KvCacheSpec spec;
    /** Per layer: keys (tiled), short[] for f16, float[] for f32. */
    private final Object[] keys;
    private final Object[] values;
    private final int keyDim;
    private final int valueRow;
    private final int kvHeads;

    TiledKvCache(KvCacheSpec spec) {
        this.spec = spec;
        this.keyDim = spec.keyDim();
        this.kvHeads = spec.kvHeads();
        this.valueRow = spec.kvHeads() * spec.valueDim();
        int layers = spec.layers();
        keys = new Object[layers];
        values = new Object[layers];
        for (int l = 0; l < layers; l++) {
            int slots = spec.capacity()[l];
            int tiled = Math.multiplyExact((slots + L - 1) / L * L, kvHeads * keyDim);
            int rows = Math.multiplyExact(slots, valueRow);
            keys[l] = spec.f16() ? new short[tiled] : new float[tiled];
            values[l] = spec.f16() ? new short[rows] : new float[rows];
        }
    }

    @Override
    public KvCacheSpec spec() {
        return spec;
    }

    @Override
    public long byteSize() {
        long n = 0;
        for (int l = 0; l < keys.length; l++) {
            n += spec.f16() ? 2L * (((short[]) keys[l]).length + ((short[]) values[l]).length)
                    : 4L * (((float[]) keys[l]).length + ((float[]) values[l]).length);
        }
        return n;
    }

    int capacity(int layer) {
        return spec.capacity()[layer];
    }

    /** Index in a layer's key array of element 0 of kv head {@code kvh} in the tile holding {@code slot}. */
    int tileBase(int slot, int kvh) {
        return ((slot / L) * kvHeads + kvh) * keyDim * L;
    }

    Object keys(int layer) {
        return keys[layer];
    }

    Object values(int layer) {
        return values[layer];
    }

    int valueRow() {
        return valueRow;
    }

    /** Stores one token's keys ({@code kvHeads*keyDim} floats at {@code k[kOff..]}) and values for position {@code pos}. */
    void store(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        int slot = pos % spec.capacity()[layer];
        int lane = slot % L;
        boolean f16 = spec.f16();
        for (int h = 0; h < kvHeads; h++) {
            int base = tileBase(slot, h) + lane;
            int src = kOff + h * keyDim;
            if (f16) {
                short[] kk = (short[]) keys[layer];
                for (int i = 0; i < keyDim; i++) {
                    kk[base + i * L] = Float.floatToFloat16(k[src + i]);
                }
            } else {
                float[] kk = (float[]) keys[layer];
                for (int i = 0; i < keyDim; i++) {
                    kk[base + i * L] = k[src + i];
                }
            }
        }
        if (f16) {
            short[] vv = (short[]) values[layer];
            for (int i = 0; i < valueRow; i++) {
                vv[slot * valueRow + i] = Float.floatToFloat16(v[vOff + i]);
            }
        } else {
            System.arraycopy(v, vOff, (float[]) values[layer], slot * valueRow, valueRow);
        }
    }
}
