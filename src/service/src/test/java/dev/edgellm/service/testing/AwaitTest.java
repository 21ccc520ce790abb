package dev.edgellm.service.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link Await#until}: a refused connection is retried, any other failure is not. */
class AwaitTest {
    @Test
    void refusedConnectionsAreRetriedUntilTheConditionHolds() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Await.until("the third call", () -> {
            if (calls.incrementAndGet() < 3) {
                throw sneaky(new ConnectException("Connection refused"));
            }
            return true;
        });
        assertEquals(3, calls.get());
    }

    @Test
    void aRefusalWrappedByTheClientCountsToo() {
        assertTrue(Await.isRefused(new IllegalStateException(new ConnectException("Connection refused"))));
    }

    @Test
    void anyOtherFailureEndsTheWaitAtOnce() {
        AtomicInteger calls = new AtomicInteger();
        IllegalStateException boom = new IllegalStateException("not a connection problem");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Await.until("never", () -> {
            calls.incrementAndGet();
            throw boom;
        }));
        assertSame(boom, thrown);
        assertEquals(1, calls.get());
    }

    /** Throws a checked exception undeclared, as RestAssured does with a refused connection. */
    @SuppressWarnings("unchecked")
    private static <E extends Throwable> RuntimeException sneaky(Throwable e) throws E {
        throw (E) e;
    }
}
