package dev.edgellm.service.testing;

import io.quarkus.arc.properties.IfBuildProperty;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/**
 * An endpoint that fails with an exception no mapper knows, for the error-id path of the REST
 * API's error mapping; there only in applications built with {@code test.fault-injection=true}
 * ({@link Profiles.FaultyEngine}).
 */
@Path("/test-faults")
@IfBuildProperty(name = "test.fault-injection", stringValue = "true")
public class FaultResource {
    @GET
    @Path("/unexpected")
    @Produces(MediaType.APPLICATION_JSON)
    public String unexpected() {
        throw new IllegalStateException(FaultyEngine.SECRET);
    }
}
