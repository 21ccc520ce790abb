package dev.edgellm.core.backend;

/**
 * Rotary position embedding parameters for one kind of layer.
 *
 * @param dims      leading dimensions of each head that rotate (the rest pass through)
 * @param freqBase  theta base, e.g. 10000 or 1e6
 * @param freqScale position scale (1 / linear scaling factor)
 * @param neox      true: NEOX style, pairs {@code (i, i + dims/2)} (Gemma); false: adjacent pairs {@code (2i, 2i+1)} (Llama)
 */
public record RopeSpec(int dims, float freqBase, float freqScale, boolean neox) {}
