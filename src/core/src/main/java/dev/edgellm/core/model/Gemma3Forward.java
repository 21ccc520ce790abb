package dev.edgellm.core.model;

import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.model.ModelWeights.LayerWeights;

/**
 * The Gemma 3 forward pass (llama.cpp llm_build_gemma3_iswa; gemma.cpp). GGUF norm weights already
 * include Gemma's +1.
 */
final class Gemma3Forward implements ForwardPass {
    private final ModelConfig c;
    private final ModelWeights w;
    /** Per layer: {wq, wk, wv} and {ffnGate, ffnUp}, the weights that read the same input. */
    private final Weight[][] qkv;
    private final Weight[][] gateUp;

    Gemma3Forward(ModelConfig c, ModelWeights w) {
        this.c = c;
        this.w = w;
        this.qkv = new Weight[w.layers().length][];
        this.gateUp = new Weight[w.layers().length][];
        for (int l = 0; l < qkv.length; l++) {
            LayerWeights lw = w.layers()[l];
            qkv[l] = new Weight[] {lw.wq(), lw.wk(), lw.wv()};
            gateUp[l] = new Weight[] {lw.ffnGate(), lw.ffnUp()};
        }
    }

    @Override
    public void embed(Session s, int[] tokens, int n) {
        // token embedding, scaled by sqrt(dim)
        s.backend.embed(w.tokenEmbedding(), tokens, n, c.embedScale(), s.x);
    }

    @Override
    public void attend(Session s, int l, int n) {
        Backend b = s.backend;
        int dim = c.dim();
        int pos = s.position;
        LayerWeights lw = w.layers()[l];
        AttentionSpec spec = c.attention(l);   // sliding layers: window-masked

        // attention rmsnorm
        b.rmsNorm(s.x, lw.attnNorm(), s.xb, dim, n, c.normEps());

        // q, k, v projections (one product over the normed input)
        b.matmul(qkv[l], s.xb, s.qkv, n);

        // per-head rmsnorm of queries and keys
        b.rmsNorm(s.q, lw.qNorm(), s.q, c.keyDim(), n * c.heads(), c.normEps());
        b.rmsNorm(s.k, lw.kNorm(), s.k, c.keyDim(), n * c.kvHeads(), c.normEps());

        // RoPE (NEOX pairs): global base on full layers, local base on sliding layers
        b.rope(s.q, n, c.heads(), c.keyDim(), pos, c.rope(l));
        b.rope(s.k, n, c.kvHeads(), c.keyDim(), pos, c.rope(l));

        // append to the KV cache (ring buffer on sliding layers), then attention
        b.kvStore(s.kv, l, s.k, s.v, pos, n);
        b.attention(s.q, s.kv, l, pos, n, spec, s.att);
    }

    @Override
    public void finish(Session s, int l, int n) {
        Backend b = s.backend;
        int dim = c.dim();
        LayerWeights lw = w.layers()[l];

        // output projection, post-attention rmsnorm, residual
        b.matmul(lw.wo(), s.att, s.xb, n);
        b.rmsNorm(s.xb, lw.postAttentionNorm(), s.xb, dim, n, c.normEps());
        b.add(s.x, s.xb, n * dim);

        // ffn rmsnorm
        b.rmsNorm(s.x, lw.ffnNorm(), s.xb, dim, n, c.normEps());

        // GELU-gated FFN: down(gelu(gate(x)) * up(x))
        b.matmul(gateUp[l], s.xb, s.gateUp, n);   // gate -> hb, up -> hb2
        b.geluMul(s.hb, s.hb2, n * c.ffnDim());
        b.matmul(lw.ffnDown(), s.hb, s.xb, n);

        // post-ffn rmsnorm, residual
        b.rmsNorm(s.xb, lw.postFfnNorm(), s.xb, dim, n, c.normEps());
        b.add(s.x, s.xb, n * dim);
    }

    @Override
    public void outputNorm(Session s, int n) {
        // final rmsnorm
        s.backend.rmsNorm(s.x, w.outputNorm(), s.x, c.dim(), n, c.normEps());
    }
}
