package dev.edgellm.core.backend.scalar;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.backend.cpu.CpuBackend;
import dev.edgellm.core.backend.cpu.HostKvCache;
import dev.edgellm.core.backend.cpu.HostWeight;

/**
 * The reference backend: {@link ScalarKernels} in plain Java, always available. Matrix products are
 * spread over rows across threads (results do not depend on the thread count). Activations meet
 * each weight type as in llama.cpp's CPU backend: quantized once per product to Q8_0 (Q4_0, Q5_0,
 * Q8_0 weights), Q8_1 (Q4_1, Q5_1) or Q8_K (Q4_K, Q5_K, Q6_K), rounded to f16/bf16 for those
 * weights, float32 otherwise.
 */
public final class ScalarBackend extends CpuBackend {
    public static final String ID = "scalar";

    private final ScalarMatmul products = new ScalarMatmul();
    private float[] scores = new float[0];
    private float[] qh = new float[0];

    public ScalarBackend(int threads) {
        super(ID, threads);
    }

    @Override
    public void matmul(Weight weight, Activations xa, Activations outa, int n) {
        products.run((HostWeight) weight, host(xa), host(outa), n, pool);
    }

    @Override
    public void rmsNorm(Activations x, Weight weight, Activations out, int width, int rows, float eps) {
        ScalarKernels.rmsNorm(host(x), host(out), vector(weight), width, 0, rows, eps);
    }

    @Override
    public void rope(Activations x, int n, int heads, int headDim, int startPos, RopeSpec rope) {
        ScalarKernels.rope(host(x), n, heads, headDim, startPos, rope);
    }

    @Override
    public void attention(Activations q, KvCache cache, int layer, int startPos, int n, AttentionSpec spec, Activations out) {
        HostKvCache c = (HostKvCache) cache;
        int span = spec.window() > 0 ? Math.min(spec.window(), startPos + n) : startPos + n;
        if (scores.length < span) {
            scores = new float[span];
        }
        if (qh.length < spec.keyDim()) {
            qh = new float[spec.keyDim()];
        }
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < spec.heads(); h++) {
                ScalarKernels.attendHead(host(q), c, layer, startPos, t, h, spec, host(out), scores, qh, n >= ScalarKernels.FLASH_TILE_QUERIES);
            }
        }
    }

    @Override
    public void geluMul(Activations gate, Activations up, int len) {
        ScalarKernels.geluMul(host(gate), host(up), 0, len);
    }

    @Override
    public void siluMul(Activations gate, Activations up, int len) {
        ScalarKernels.siluMul(host(gate), host(up), 0, len);
    }

    @Override
    public void add(Activations x, Activations y, int len) {
        ScalarKernels.add(host(x), host(y), 0, len);
    }
}
