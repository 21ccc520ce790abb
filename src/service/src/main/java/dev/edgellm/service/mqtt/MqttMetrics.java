package dev.edgellm.service.mqtt;

import java.util.concurrent.atomic.AtomicLong;

/** Counters of the MQTT connection, read by the metrics ({@code /q/metrics}). */
public final class MqttMetrics {
    /** Messages over the size limit the broker sent (each ends the connection). */
    public final AtomicLong oversize = new AtomicLong();
    /**
     * Clean-session connections made to end a loop of oversize messages: each time the broker
     * discarded this node's session (see {@code edgellm.mqtt.oversize-session-reset}).
     */
    public final AtomicLong sessionResets = new AtomicLong();
    /** Connection cycles that failed (refused, or lost before they were stable). */
    public final AtomicLong failedCycles = new AtomicLong();
    /** Connections lost. */
    public final AtomicLong disconnects = new AtomicLong();
    /** Unreadable lines skipped when the response cache was opened. */
    public final AtomicLong cacheSkipped = new AtomicLong();
}
