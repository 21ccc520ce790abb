package dev.edgellm.service.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.monitor.EngineMetrics;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import dev.edgellm.service.system.Addresses;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * API keys on the REST API. Every path under a {@link #PROTECTED} prefix ({@code /v1} for the
 * OpenAI API, {@code /api} for the service's own and Ollama-style endpoints) needs
 * {@code Authorization: Bearer <key>} when keys are configured ({@link ApiKeys}); a missing or
 * wrong key answers 401 in OpenAI's error shape with {@code WWW-Authenticate}. Health and metrics
 * are on the management interface and need no key.
 *
 * <p>At startup: with no key, the service refuses to listen on anything but a loopback address,
 * unless {@code edgellm.api.allow-unauthenticated=true} (then it warns).
 */
@ApplicationScoped
public class ApiAccessFilter {
    private static final Logger LOG = Logger.getLogger(ApiAccessFilter.class);
    /** Path prefixes that need a key: each matches itself and everything below it. */
    public static final List<String> PROTECTED = List.of("/v1", "/api");
    static final String REALM = "Bearer realm=\"edgellm\"";

    @Inject
    EdgeLlmConfig config;
    @Inject
    ObjectMapper json;
    @Inject
    EngineMetrics metrics;
    @ConfigProperty(name = "quarkus.http.host")
    String host;
    @ConfigProperty(name = "quarkus.http.port")
    int port;
    @ConfigProperty(name = "quarkus.management.port", defaultValue = "9000")
    int managementPort;

    private volatile ApiKeys keys;

    ApiKeys keys() {
        ApiKeys k = keys;
        if (k == null) {
            synchronized (this) {
                if (keys == null) {
                    keys = ApiKeys.load(config.api().keys(), config.api().keysFile());
                }
                k = keys;
            }
        }
        return k;
    }

    /** Fails the start on a reachable address without keys (unless explicitly allowed); logs what is in force. */
    void onStart(@Observes @Priority(1) StartupEvent event) {
        if (io.quarkus.runtime.LaunchMode.current() == io.quarkus.runtime.LaunchMode.NORMAL && (port == 0) != (managementPort == 0)) {
            // Micrometer registers the HTTP metrics of both servers under one name, tagged with the
            // port only when it is fixed; one tagged and one untagged cannot both register.
            throw new IllegalStateException("quarkus.http.port " + port + " and quarkus.management.port " + managementPort
                    + ": give both a fixed port, or both 0 (any free port)");
        }
        ApiKeys k = keys();
        boolean loopback = Addresses.isLoopback(host);
        if (k.enabled()) {
            LOG.infof("REST API: %d API key(s) required on %s (Authorization: Bearer)", k.count(), PROTECTED);
        } else if (loopback) {
            LOG.infof("REST API on %s without API keys: reachable from this machine only", host);
        } else if (config.api().allowUnauthenticated()) {
            LOG.warnf("REST API on %s WITHOUT API keys (edgellm.api.allow-unauthenticated=true): anyone who reaches this address can use it", host);
        } else {
            throw new IllegalStateException("refusing to serve the REST API on " + host + " without API keys: set edgellm.api.keys "
                    + "(EDGELLM_API_KEYS) or edgellm.api.keys-file, listen on 127.0.0.1, or set edgellm.api.allow-unauthenticated=true");
        }
    }

    void register(@Observes Filters filters) {
        filters.register(this::filter, 2000);
    }

    private void filter(RoutingContext rc) {
        if (!isProtected(rc.normalizedPath())) {
            rc.next();
            return;
        }
        ApiKeys k = keys();
        if (!k.enabled()) {
            rc.next();
            return;
        }
        String token = ApiKeys.bearer(rc.request().getHeader(HttpHeaders.AUTHORIZATION));
        if (token != null && k.accepts(token)) {
            rc.next();
            return;
        }
        metrics.outcome("http", EngineMetrics.UNAUTHORIZED);
        String message = token == null ? "this server requires an API key: send Authorization: Bearer <key>"
                : "the API key is not valid for this server";
        RawErrors.send(rc, json, 401, ApiException.INVALID_REQUEST, "invalid_api_key", message, false,
                "WWW-Authenticate", token == null ? REALM : REALM + ", error=\"invalid_token\"");
    }

    /** Whether a (normalized) request path lies under a protected prefix. */
    public static boolean isProtected(String path) {
        if (path == null) {
            return true;
        }
        for (String p : PROTECTED) {
            if (path.equals(p) || path.startsWith(p + "/")) {
                return true;
            }
        }
        return false;
    }
}
