package dev.edgellm.core.quant;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How block scales and levels are chosen. Every method writes the standard block layout. */
public enum QuantMethod {
    /** ggml's reference round-to-nearest ({@code quantize_row_q4_0_ref}), bit for bit. */
    RTN("rtn", false),
    /**
     * Per-block clipping search (OmniQuant's learnable weight clipping as a grid search): the
     * block scale that minimises the error weighted by the inputs' mean squares (plain MSE
     * without calibration).
     */
    CLIP("clip", false),
    /**
     * GPTQ: column-by-column rounding with error feedback through the inverse Hessian of each
     * tensor's inputs (in the model quantized so far); block scales by the clipping search.
     */
    GPTQ("gptq", true),
    /**
     * GPTQ with the asymmetric objective (GPTAQ): the target is the float layer fed the float
     * model's activations, so each layer also makes up for the error the blocks before it left in
     * its inputs. Needs the float model run beside the quantized one.
     */
    GPTAQ("gptaq", true),
    /**
     * AWQ/LET-style per-channel scales folded into the preceding RMSNorm weight (exactly
     * equivalent in float), chosen to minimise the group's output error, then GPTAQ.
     */
    AWQ_GPTAQ("awq-gptaq", true);

    /** The method used with a calibration text when none is named: the best measured (README, Quantization). */
    public static final QuantMethod BEST = GPTAQ;

    private final String id;
    private final boolean needsCalibration;

    QuantMethod(String id, boolean needsCalibration) {
        this.id = id;
        this.needsCalibration = needsCalibration;
    }

    public String id() {
        return id;
    }

    /** Whether the method cannot run without activation statistics. */
    public boolean needsCalibration() {
        return needsCalibration;
    }

    /** Whether it rescales input channels (and so rewrites norm weights). */
    public boolean foldsScales() {
        return this == AWQ_GPTAQ;
    }

    /** Whether it targets the float model's activations (and so runs the float model beside). */
    public boolean asymmetric() {
        return this == GPTAQ || this == AWQ_GPTAQ;
    }

    /** The method named {@code id}, or an exception listing the names. */
    public static QuantMethod of(String id) {
        for (QuantMethod m : values()) {
            if (m.id.equalsIgnoreCase(id)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown method '" + id + "' (methods: " + names() + ")");
    }

    public static String names() {
        return Arrays.stream(values()).map(QuantMethod::id).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return id;
    }
}
