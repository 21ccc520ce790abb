package dev.edgellm.service.api;

import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.ws.rs.ext.Provider;
import jakarta.ws.rs.ext.ReaderInterceptor;
import jakarta.ws.rs.ext.ReaderInterceptorContext;
import java.io.IOException;

/**
 * Marks a request whose body the REST layer has read whole (the entity is deserialized), so the
 * body deadline of {@link BodyLimitFilter} no longer applies while the request is answered.
 */
@Provider
public class BodyReadMarker implements ReaderInterceptor {
    @Inject
    CurrentVertxRequest current;

    @Override
    public Object aroundReadFrom(ReaderInterceptorContext context) throws IOException {
        Object entity = context.proceed();
        RoutingContext rc = current.getCurrent();
        if (rc != null) {
            rc.put(BodyLimitFilter.BODY_READ, Boolean.TRUE);
        }
        return entity;
    }
}
