package dev.edgellm.core.quant;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufTensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Which type each tensor of a model gets, following {@code llama-quantize}'s rules for Q4_0 and
 * Q8_0 (llama-quant.cpp: tensor_allows_quantization, llama_tensor_get_type_impl,
 * tensor_type_fallback):
 * <ul>
 *   <li>only weights ({@code *weight}) with two or more dimensions are quantized; norms
 *       ({@code *_norm.weight}) and position/token-type embeddings keep their type;</li>
 *   <li>the output projection ({@code output.weight}, or {@code token_embd.weight} when the model
 *       ties them) gets Q8_0: llama-quantize gives it Q6_K when its rows are a multiple of 256
 *       (then we also write Q8_0: there is no Q6_K encoder here) and Q8_0 otherwise;</li>
 *   <li>every other weight, the token embedding included, gets the target type;</li>
 *   <li>a row length that is not a multiple of 32 cannot be Q4_0 or Q8_0: such a tensor is written
 *       as F16.</li>
 * </ul>
 * Input tensors must be F32, F16, BF16 or Q8_0 (re-quantized, with a warning); a file that already
 * holds Q4_0 or any other quantized type is refused.
 */
public final class TensorPlan {

    /** What happens to a tensor. */
    public enum Action {
        /** Written as it is (norms, 1-D tensors, tensors already in their target type). */
        COPY,
        /** Converted to a float type (the F16 fallback; an F32 norm rewritten after folding). */
        CONVERT,
        /** Block-quantized (Q4_0 or Q8_0). */
        QUANTIZE
    }

    /** One tensor: its input, the type written, and why. */
    public record Item(GgufTensor tensor, GgmlType type, Action action, boolean output) {
        public String name() {
            return tensor.name();
        }
    }

    private final GgmlType target;
    private final List<Item> items;
    private final List<String> warnings;
    private final boolean tiedOutput;

    private TensorPlan(GgmlType target, List<Item> items, List<String> warnings, boolean tiedOutput) {
        this.target = target;
        this.items = Collections.unmodifiableList(items);
        this.warnings = Collections.unmodifiableList(warnings);
        this.tiedOutput = tiedOutput;
    }

    /**
     * The plan for quantizing {@code in} to {@code target} (Q4_0 or Q8_0).
     *
     * @param f32Norms norm tensors written as F32 (their values are rescaled by the AWQ method)
     * @throws IllegalArgumentException when the file already holds quantized tensors other than Q8_0
     */
    public static TensorPlan of(GgufFile in, GgmlType target, boolean f32Norms) {
        if (target != GgmlType.Q4_0 && target != GgmlType.Q8_0) {
            throw new IllegalArgumentException("target type must be Q4_0 or Q8_0, got " + target);
        }
        boolean tied = in.findTensor("output.weight").isEmpty();
        List<Item> items = new ArrayList<>();
        int requantized = 0;
        for (GgufTensor t : in.tensors().values()) {
            GgmlType type = t.type();
            if (type.quantized() && type != GgmlType.Q8_0) {
                throw new IllegalArgumentException(in.path() + ": tensor '" + t.name() + "' is already " + type
                        + "; quantize from an F32, F16 or BF16 model (or Q8_0)");
            }
            if (!type.quantized() && type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.BF16) {
                throw new IllegalArgumentException(in.path() + ": tensor '" + t.name() + "' has type " + type + ", which cannot be quantized");
            }
            boolean output = t.name().equals("output.weight") || (tied && t.name().equals("token_embd.weight"));
            if (!quantizable(t)) {
                boolean norm = t.name().endsWith("_norm.weight") && nDims(t) == 1;
                if (norm && f32Norms && type != GgmlType.F32) {
                    items.add(new Item(t, GgmlType.F32, Action.CONVERT, false));
                } else {
                    items.add(new Item(t, type, Action.COPY, false));
                }
                continue;
            }
            GgmlType want = output ? GgmlType.Q8_0 : target;
            if (t.cols() % want.blockSize() != 0) {
                want = GgmlType.F16;
            }
            // a Q8_0 tensor that stays Q8_0 is copied: quantizing it again could only lose
            Action action = want == type ? Action.COPY : want.quantized() ? Action.QUANTIZE : Action.CONVERT;
            if (type == GgmlType.Q8_0 && action != Action.COPY) {
                requantized++;
            }
            items.add(new Item(t, want, action, output));
        }
        List<String> warnings = new ArrayList<>();
        if (requantized > 0) {
            warnings.add(requantized + " tensor(s) of " + in.path().getFileName()
                    + " are Q8_0: they are dequantized and quantized again, and the errors add up (start from F16/BF16/F32 if you can)");
        }
        return new TensorPlan(target, items, warnings, tied);
    }

    /** llama-quantize's tensor_allows_quantization for the tensors of the architectures we run. */
    static boolean quantizable(GgufTensor t) {
        String name = t.name();
        return nDims(t) >= 2
                && name.endsWith("weight")
                && !name.contains("_norm.weight")
                && !name.equals("position_embd.weight")
                && !name.equals("token_types.weight");
    }

    /** ggml_n_dims: dimensions up to the last one above 1. */
    static int nDims(GgufTensor t) {
        long[] d = t.dims();
        for (int i = d.length - 1; i >= 1; i--) {
            if (d[i] > 1) {
                return i + 1;
            }
        }
        return 1;
    }

    public GgmlType target() {
        return target;
    }

    public List<Item> items() {
        return items;
    }

    /** Whether the output projection is the token embedding (no {@code output.weight}). */
    public boolean tiedOutput() {
        return tiedOutput;
    }

    public List<String> warnings() {
        return warnings;
    }

    public Item item(String name) {
        for (Item i : items) {
            if (i.name().equals(name)) {
                return i;
            }
        }
        return null;
    }

    /** Bytes of tensor data the output holds (without header and padding). */
    public long dataBytes() {
        long n = 0;
        for (Item i : items) {
            n += i.type().byteSize(i.tensor().elements());
        }
        return n;
    }
}
