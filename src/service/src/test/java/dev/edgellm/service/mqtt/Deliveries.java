package dev.edgellm.service.mqtt;

import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.mqtt.messages.MqttPublishMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

/** Messages as the connection hands them over, for the unit tests of the intake's parts. */
final class Deliveries {
    private static final AtomicInteger PACKET = new AtomicInteger();

    private Deliveries() {}

    static Delivery of(String topic, String payload) {
        return of(topic, payload, MqttQoS.AT_LEAST_ONCE, false);
    }

    static Delivery of(String topic, String payload, MqttQoS qos, boolean retain) {
        MqttPublishMessage m = MqttPublishMessage.create(PACKET.incrementAndGet(), qos, false, retain, topic,
                Unpooled.wrappedBuffer(payload.getBytes(StandardCharsets.UTF_8)));
        return new Delivery(m, 1, Instant.now());
    }
}
