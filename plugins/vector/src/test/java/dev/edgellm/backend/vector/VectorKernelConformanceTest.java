package dev.edgellm.backend.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.tensor.Codecs;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector backend against the scalar oracle. Surefire runs this class three times: with the
 * machine's preferred species and with {@code edgellm.vector.bits} = 256 and 128, so all code paths
 * are covered on one machine.
 */
class VectorKernelConformanceTest extends AbstractBackendConformanceTest {

    @Override
    protected Backend candidate(int threads) {
        System.out.println("vector kernels: " + Simd.BITS + "-bit species, " + Simd.L + " float lanes");
        return new VectorBackend(threads);
    }

    /** The vector quantizer must reproduce Codecs.quantizeQ8_0 bit for bit (scales and quants). */
    @Test
    void quantizeQ8_0IsExact() {
        SplittableRandom rnd = new SplittableRandom(42);
        int n = 32 * 300;
        float[] x = TestTensors.gaussian(rnd, n, 2.0);
        // edge cases: an all-zero block, exact halves (ties to even), tiny values
        for (int j = 0; j < 32; j++) {
            x[j] = 0f;
            x[32 + j] = (j - 16) * 0.5f;
            x[64 + j] = (float) (j * 1e-30);
        }
        x[96] = 127f;
        for (int j = 1; j < 32; j++) {
            x[96 + j] = j + 0.5f;
        }
        byte[] q = new byte[n];
        float[] d = new float[n / 32];
        Codecs.quantizeQ8_0(x, 0, n, d, 0, q, 0);
        float[] xs = new float[n];
        float[] xsum = new float[n / 32];
        VectorKernels.quantizeQ8_0ToF32(x, 0, n, xs, 0, xsum, 0);
        float[] want = new float[n];
        float[] wantSum = new float[n / 32];
        for (int i = 0; i < n; i++) {
            want[i] = q[i] * d[i / 32];
            wantSum[i / 32] += want[i];
        }
        assertArrayEquals(want, xs);
        assertArrayEquals(wantSum, xsum);
    }

    @Test
    void halfConversionsAreExact() {
        short[] all = new short[1 << 16];
        for (int i = 0; i < all.length; i++) {
            all[i] = (short) i;
        }
        float[] got = new float[all.length];
        for (int i = 0; i < all.length; i += Simd.L) {
            Convert.f16ToF32(jdk.incubator.vector.ShortVector.fromArray(Simd.SH, all, i)).intoArray(got, i);
        }
        for (int i = 0; i < all.length; i++) {
            float want = Float.float16ToFloat(all[i]);
            int bits = all[i] & 0xFFFF;
            if (Float.isNaN(want)) {
                // NaN stays NaN; whether a signaling payload gets quieted is not specified
                assertEquals(true, Float.isNaN(got[i]), () -> "f16 bits " + Integer.toHexString(bits));
            } else {
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]), () -> "f16 bits " + Integer.toHexString(bits));
            }
        }
        for (int i = 0; i < all.length; i += Simd.L) {
            Convert.bf16ToF32(jdk.incubator.vector.ShortVector.fromArray(Simd.SH, all, i)).intoArray(got, i);
        }
        for (int i = 0; i < all.length; i++) {
            assertEquals(Float.floatToRawIntBits(Codecs.bf16ToF32(all[i])), Float.floatToRawIntBits(got[i]));
        }
    }
}
