package dev.edgellm.service.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.service.watch.InvalidWatchException;
import dev.edgellm.service.watch.WatchManager;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Watches over the API (README, "Watches"): {@code GET /api/watches} lists them,
 * {@code GET/PUT/DELETE /api/watches/<name>} reads, creates or replaces (stored under the node's
 * state directory, run at once) and deletes one. A bad definition answers 400 naming the field.
 * Keyed like the rest of {@code /api}.
 */
@Path("/api/watches")
@Produces(MediaType.APPLICATION_JSON)
public class WatchResource {
    @Inject
    WatchManager watches;

    @GET
    public Map<String, Object> list() {
        List<Object> all = new ArrayList<>();
        watches.effective().keySet().forEach(n -> watches.describe(n).ifPresent(all::add));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("watches", all);
        return m;
    }

    @GET
    @Path("/{name}")
    public Map<String, Object> get(@PathParam("name") String name) {
        return watches.describe(name).orElseThrow(() -> ApiException.notFound("name", "no watch named '" + name + "'"));
    }

    @PUT
    @Path("/{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> put(@PathParam("name") String name, JsonNode body) throws IOException {
        try {
            watches.put(name, body);
        } catch (InvalidWatchException e) {
            throw ApiException.invalid(e.field(), "invalid_watch", e.getMessage());
        }
        return get(name);
    }

    @DELETE
    @Path("/{name}")
    public Map<String, Object> delete(@PathParam("name") String name) throws IOException {
        if (watches.delete(name).isEmpty()) {
            if (watches.effective().containsKey(name)) {
                throw new ApiException(409, ApiException.INVALID_REQUEST, "watch '" + name + "' is declared in the configuration or the watches "
                        + "file, not over the API: remove it there", "name", "not_from_api", null);
            }
            throw ApiException.notFound("name", "no watch named '" + name + "'");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("deleted", name);
        m.put("still_declared", watches.effective().containsKey(name));
        return m;
    }
}
