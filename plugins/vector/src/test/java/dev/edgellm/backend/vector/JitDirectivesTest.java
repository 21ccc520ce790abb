package dev.edgellm.backend.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class JitDirectivesTest {
    /** On HotSpot (which runs the tests) the directive must really be added: its absence costs 50x on prompts. */
    @Test
    void theGemmKernelsAreKeptFromC1() {
        assertEquals(JitDirectives.INSTALLED, JitDirectives.install());
        // a second call does not add the directive again
        assertEquals(JitDirectives.INSTALLED, JitDirectives.install());
    }
}
