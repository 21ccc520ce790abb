package dev.edgellm.backend.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.Backends;
import org.junit.jupiter.api.Test;

/** The best available backend is chosen without probing (loading the native code of) the ones below it. */
class BackendSelectionTest {
    @Test
    void theScalarOracleBelowAUsableVectorBackendIsNotProbed() {
        Backends.Selection sel = Backends.select(null);
        assertEquals(VectorBackend.ID, sel.chosen().provider().id());
        Backends.Candidate scalar = sel.candidates().stream().filter(c -> c.provider().id().equals("scalar")).findFirst().orElseThrow();
        assertFalse(scalar.probe().usable());
        assertTrue(scalar.probe().summary().startsWith("not probed: vector (priority 100) is usable"), scalar.probe().summary());
    }
}
