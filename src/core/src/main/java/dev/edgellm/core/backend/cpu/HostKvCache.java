package dev.edgellm.core.backend.cpu;

import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.tensor.Codecs;

/**
 * A KV cache in host memory. Layer {@code l} holds {@code capacity[l]} slots of
 * {@code [kvHeads][dim]} keys and values, as float16 bits ({@code short[]}) or float32.
 */
public final class HostKvCache implements KvCache {
    private final KvCacheSpec spec;
    /** Per layer: keys {@code [slot][kvHeads*keyDim]}; short[] for f16, float[] for f32. */
    final Object[] keys;
    final Object[] values;
    private final int keyRow;
    private final int valueRow;

    public HostKvCache(KvCacheSpec spec) {
        this.spec = spec;
        this.keyRow = spec.kvHeads() * spec.keyDim();
        this.valueRow = spec.kvHeads() * spec.valueDim();
        int layers = spec.layers();
        keys = new Object[layers];
        values = new Object[layers];
        for (int l = 0; l < layers; l++) {
            int slots = spec.capacity()[l];
            keys[l] = spec.f16() ? new short[Math.multiplyExact(slots, keyRow)] : new float[Math.multiplyExact(slots, keyRow)];
            values[l] = spec.f16() ? new short[Math.multiplyExact(slots, valueRow)] : new float[Math.multiplyExact(slots, valueRow)];
        }
    }

    @Override
    public KvCacheSpec spec() {
        return spec;
    }

    /** Slot of position {@code pos} in layer {@code layer}. */
    public int slot(int layer, int pos) {
        return pos % spec.capacity()[layer];
    }

    /** Stores one token's keys and values (rows of kvHeads*dim floats) for position {@code pos}. */
    public void store(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        int s = slot(layer, pos);
        if (spec.f16()) {
            short[] kk = (short[]) keys[layer];
            short[] vv = (short[]) values[layer];
            for (int i = 0; i < keyRow; i++) {
                kk[s * keyRow + i] = Codecs.f32ToF16(k[kOff + i]);
            }
            for (int i = 0; i < valueRow; i++) {
                vv[s * valueRow + i] = Codecs.f32ToF16(v[vOff + i]);
            }
        } else {
            System.arraycopy(k, kOff, (float[]) keys[layer], s * keyRow, keyRow);
            System.arraycopy(v, vOff, (float[]) values[layer], s * valueRow, valueRow);
        }
    }

    /** Keys of a layer: {@code short[]} (f16 bits) or {@code float[]}, row {@code slot*kvHeads*keyDim}. */
    public Object keys(int layer) {
        return keys[layer];
    }

    /** Values of a layer, like {@link #keys}. */
    public Object values(int layer) {
        return values[layer];
    }

    public int keyRow() {
        return keyRow;
    }

    public int valueRow() {
        return valueRow;
    }
}
