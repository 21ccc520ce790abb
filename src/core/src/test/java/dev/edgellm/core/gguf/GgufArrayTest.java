package dev.edgellm.core.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Unsigned 64-bit values convert to floating point by their unsigned value, correctly rounded. */
class GgufArrayTest {

    @Test
    void unsignedConversionMatchesBigDecimal() {
        Random rnd = new Random(5);
        long[] edge = {0, 1, Long.MAX_VALUE, Long.MIN_VALUE, -1L, Long.MIN_VALUE + 1,
            0x8000_0000_0000_0400L, 0x8000_0000_0000_0401L, 0x8000_0000_0000_0C00L, 0xFFFF_FF80_0000_0000L, 0xFFFF_FF7F_FFFF_FFFFL};
        for (int i = 0; i < edge.length + 10000; i++) {
            long v = i < edge.length ? edge[i] : rnd.nextLong();
            BigDecimal exact = new BigDecimal(Long.toUnsignedString(v));
            assertEquals(exact.doubleValue(), GgufArray.unsignedToDouble(v), Long.toUnsignedString(v));
            assertEquals(exact.floatValue(), GgufArray.unsignedToFloat(v), Long.toUnsignedString(v));
        }
    }
}
