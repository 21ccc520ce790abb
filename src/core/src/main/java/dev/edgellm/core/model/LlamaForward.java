package dev.edgellm.core.model;

import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.model.ModelWeights.LayerWeights;

/** The Llama forward pass (llama.cpp llm_build_llama; llama2.c run.c). */
final class LlamaForward implements ForwardPass {
    private final ModelConfig c;
    private final ModelWeights w;
    /** Per layer: {wq, wk, wv} and {ffnGate, ffnUp}, the weights that read the same input. */
    private final Weight[][] qkv;
    private final Weight[][] gateUp;

    LlamaForward(ModelConfig c, ModelWeights w) {
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
        // token embedding: x = token_embd[tokens]
        s.backend.embed(w.tokenEmbedding(), tokens, n, c.embedScale(), s.x);
    }

    @Override
    public void attend(Session s, int l, int n) {
        Backend b = s.backend;
        int dim = c.dim();
        int pos = s.position;
        LayerWeights lw = w.layers()[l];
        AttentionSpec spec = c.attention(l);

        // attention rmsnorm
        b.rmsNorm(s.x, lw.attnNorm(), s.xb, dim, n, c.normEps());

        // q, k, v projections (one product over the normed input)
        b.matmul(qkv[l], s.xb, s.qkv, n);

        // RoPE (adjacent pairs) on queries and keys
        b.rope(s.q, n, c.heads(), c.keyDim(), pos, c.rope(l));
        b.rope(s.k, n, c.kvHeads(), c.keyDim(), pos, c.rope(l));

        // append to the KV cache, then causal attention over it
        b.kvStore(s.kv, l, s.k, s.v, pos, n);
        b.attention(s.q, s.kv, l, pos, n, spec, s.att);
    }

    @Override
    public void finish(Session s, int l, int n) {
        Backend b = s.backend;
        int dim = c.dim();
        LayerWeights lw = w.layers()[l];

        // output projection, residual
        b.matmul(lw.wo(), s.att, s.xb, n);
        b.add(s.x, s.xb, n * dim);

        // ffn rmsnorm
        b.rmsNorm(s.x, lw.ffnNorm(), s.xb, dim, n, c.normEps());

        // SwiGLU: down(silu(gate(x)) * up(x))
        b.matmul(gateUp[l], s.xb, s.gateUp, n);   // gate -> hb, up -> hb2
        b.siluMul(s.hb, s.hb2, n * c.ffnDim());
        b.matmul(lw.ffnDown(), s.hb, s.xb, n);

        // residual
        b.add(s.x, s.xb, n * dim);
    }

    @Override
    public void outputNorm(Session s, int n) {
        // final rmsnorm
        s.backend.rmsNorm(s.x, w.outputNorm(), s.x, c.dim(), n, c.normEps());
    }
}
