package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.sampling.SamplingParams;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.FinishReason;
import dev.edgellm.service.engine.GenerationJob;
import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.engine.GenerationRequest;
import dev.edgellm.service.engine.JobHandle;
import dev.edgellm.service.engine.QueueFullException;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The engine's Java submission API (what a second intake such as MQTT uses) and the liveness
 * watchdog: a job whose token sink blocks stalls the engine deterministically.
 */
@QuarkusTest
@TestProfile(Profiles.ShortWatchdog.class)
class EngineWatchdogTest {
    @Inject
    EngineService engine;

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    private GenerationRequest request(int maxTokens) {
        return new GenerationRequest(engine.tokenize("Once upon a time"), maxTokens, SamplingParams.greedy(), List.of(), false);
    }

    @Test
    void aStalledEngineTurnsLivenessDownUntilItMovesAgain() throws Exception {
        CountDownLatch blocked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        JobHandle stuck = engine.submit(new GenerationJob("test", request(3), text -> {
            blocked.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, null));
        assertTrue(blocked.await(30, TimeUnit.SECONDS));
        Await.until("liveness DOWN", () -> Management.given().get("/q/health/live").then().extract().statusCode() == 503);
        Management.given().get("/q/health/live").then().body("checks[0].data.busy", equalTo(true));

        // Meanwhile the one waiting place fills, and the next submission is refused.
        JobHandle queued = engine.submit(GenerationJob.of("test", request(2)));
        assertTrue(engine.saturated());
        assertTrue(engine.tryReserve().isEmpty());
        assertThrows(QueueFullException.class, () -> engine.submit(GenerationJob.of("test", request(2))));

        release.countDown();
        GenerationOutcome o = stuck.result().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(3, o.completionTokens());
        assertEquals(FinishReason.LENGTH, o.finishReason());
        assertEquals(2, queued.result().toCompletableFuture().get(30, TimeUnit.SECONDS).completionTokens());
        Await.until("liveness UP", () -> Management.given().get("/q/health/live").then().extract().statusCode() == 200);
        assertFalse(engine.saturated());
    }

    @Test
    void aReservationHoldsAPlaceUntilUsedOrClosed() throws Exception {
        try (EngineService.Reservation r = engine.tryReserve().orElseThrow()) {
            assertTrue(engine.saturated(), "the only waiting place is reserved");
        }
        assertFalse(engine.saturated(), "closing an unused reservation frees the place");
        EngineService.Reservation r = engine.tryReserve().orElseThrow();
        JobHandle h = r.submit(GenerationJob.of("test", request(4)));
        assertThrows(IllegalStateException.class, () -> r.submit(GenerationJob.of("test", request(1))));
        assertEquals(4, h.result().toCompletableFuture().get(30, TimeUnit.SECONDS).completionTokens());
    }

    @Test
    void cancellingAQueuedOrRunningJobEndsItAsCancelled() throws Exception {
        CountDownLatch first = new CountDownLatch(1);
        CountDownLatch cancelled = new CountDownLatch(1);
        // The sink holds the engine at the first token until both jobs are cancelled: no race with a fast model.
        JobHandle running = engine.submit(new GenerationJob("test", request(500), text -> {
            first.countDown();
            try {
                cancelled.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, null));
        assertTrue(first.await(30, TimeUnit.SECONDS));
        JobHandle waiting = engine.submit(GenerationJob.of("test", request(5)));
        waiting.cancel();
        running.cancel();
        cancelled.countDown();
        GenerationOutcome a = running.result().toCompletableFuture().get(30, TimeUnit.SECONDS);
        GenerationOutcome b = waiting.result().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(FinishReason.CANCELLED, a.finishReason());
        assertTrue(a.completionTokens() < 500);
        assertEquals(FinishReason.CANCELLED, b.finishReason());
        assertEquals(0, b.completionTokens());
    }
}
