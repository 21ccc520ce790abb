package dev.edgellm.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Backend choice with only core on the class path: the scalar reference backend. */
class BackendsTest {

    @Test
    void forcedBackendIsTheOnlyOneProbed() {
        Backends.Selection sel = Backends.select("scalar");
        assertEquals("scalar", sel.chosen().provider().id());
        assertEquals(1, sel.candidates().size(), "a forced id probes its provider only");
        assertEquals("forced by configuration", sel.reason());
    }

    @Test
    void automaticChoiceProbesEveryProvider() {
        Backends.Selection sel = Backends.select(null);
        assertEquals(Backends.providers().size(), sel.candidates().size());
        assertTrue(sel.chosen().probe().usable());
    }

    @Test
    void unknownIdNamesTheAvailableOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.select("tpu"));
        assertTrue(e.getMessage().contains("unknown backend 'tpu'") && e.getMessage().contains("scalar"), e.getMessage());
    }
}
