package dev.edgellm.service.mqtt;

import dev.edgellm.service.config.EdgeLlmConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.JksOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.PfxOptions;
import io.vertx.mqtt.MqttClientOptions;
import java.util.Locale;

/**
 * The MQTT client's options from the configuration: a persistent session (unless clean-start)
 * under a stable client id, acknowledgement left to the intake, the size limit, the last will, the
 * credentials and TLS (trust, client certificates, host name verification).
 */
final class ClientOptions {
    private ClientOptions() {}

    /**
     * @param maxMessage the largest packet read (larger ones are skipped unread and end the connection)
     * @param willTopic  the status topic, where the broker publishes {@code will} when the connection dies
     */
    static MqttClientOptions of(EdgeLlmConfig.Mqtt m, String clientId, int maxMessage, String willTopic, byte[] will) {
        MqttClientOptions o = new MqttClientOptions();
        o.setClientId(clientId);
        // A persistent session: the broker keeps the subscriptions and the unacknowledged requests.
        o.setCleanSession(m.cleanStart());
        o.setAutoAck(false);
        o.setKeepAliveInterval((int) Math.max(1, m.keepAlive().toSeconds()));
        // Nothing larger is read into memory: Netty's decoder skips it (and the connection is dropped).
        o.setMaxMessageSize(maxMessage);
        o.setMaxInflightQueue(1000);
        o.setConnectTimeout(10_000);
        o.setWillFlag(true);
        o.setWillTopic(willTopic);
        o.setWillMessageBytes(Buffer.buffer(will));
        o.setWillQoS(1);
        o.setWillRetain(true);
        m.username().ifPresent(o::setUsername);
        m.password().ifPresent(o::setPassword);
        EdgeLlmConfig.Tls tls = m.tls();
        if (tls.enabled()) {
            o.setSsl(true);
            tls.caFile().ifPresent(f -> o.setTrustOptions(new PemTrustOptions().addCertPath(f)));
            tls.trustStore().ifPresent(f -> {
                String pw = tls.trustStorePassword().orElse(null);
                if (f.toLowerCase(Locale.ROOT).endsWith(".jks")) {
                    o.setTrustOptions(new JksOptions().setPath(f).setPassword(pw));
                } else {
                    o.setTrustOptions(new PfxOptions().setPath(f).setPassword(pw));
                }
            });
            if (tls.certFile().isPresent() && tls.keyFile().isPresent()) {
                o.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile().get()).setKeyPath(tls.keyFile().get()));
            } else if (tls.certFile().isPresent() != tls.keyFile().isPresent()) {
                throw new IllegalStateException("edgellm.mqtt.tls.cert-file and edgellm.mqtt.tls.key-file go together; one is missing");
            }
            tls.keyStore().ifPresent(f -> {
                String pw = tls.keyStorePassword().orElse(null);
                o.setKeyCertOptions(f.toLowerCase(Locale.ROOT).endsWith(".jks") ? new JksOptions().setPath(f).setPassword(pw)
                        : new PfxOptions().setPath(f).setPassword(pw));
            });
            o.setHostnameVerificationAlgorithm(tls.verifyHost() ? "HTTPS" : "");
        }
        return o;
    }
}
