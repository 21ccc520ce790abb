package dev.edgellm.service.api.ollama;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.service.api.ApiException;
import dev.edgellm.service.api.JobStream;
import dev.edgellm.service.request.RequestRules;
import dev.edgellm.service.api.ollama.OllamaResponses.ChatLine;
import dev.edgellm.service.api.ollama.OllamaResponses.Done;
import dev.edgellm.service.api.ollama.OllamaResponses.GenerateLine;
import dev.edgellm.service.engine.EngineFailureException;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.FinishReason;
import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.engine.GenerationRequest;
import dev.edgellm.service.engine.QueueFullException;
import io.vertx.core.http.HttpServerResponse;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The Ollama-compatible API beside the OpenAI one, on the same port: {@code POST /api/generate} and
 * {@code POST /api/chat} (NDJSON lines by default, one object with {@code "stream": false}),
 * {@code GET /api/tags}, {@code GET /api/ps}, {@code POST /api/show} and {@code GET /api/version}.
 * Generations take a place in the engine's one queue like every other intake; a full queue answers
 * 503, as Ollama does. Errors are Ollama's {@code {"error": "..."}} (see
 * {@link dev.edgellm.service.api.ErrorShape}).
 *
 * <p>Bodies are read whatever their {@code Content-Type}: Ollama's own examples post with
 * {@code curl -d}, which sends a form type.
 */
@Path("/api")
public class OllamaResource {
    static final String NDJSON = "application/x-ndjson";
    /**
     * The Ollama release whose API this implements: clients that enable features by
     * {@code /api/version} read this one.
     */
    static final String OLLAMA_API_VERSION = "0.9.0";

    @Inject
    EngineService engine;
    @Inject
    RequestRules rules;
    @Inject
    ObjectMapper json;
    @Inject
    OllamaModels models;
    @Inject
    OllamaRequestRules checks;
    @ConfigProperty(name = "quarkus.application.version", defaultValue = "unknown")
    String version;

    @GET
    @Path("/version")
    public Response version() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", OLLAMA_API_VERSION);
        m.put("edgellm", version);
        return Response.ok(m, MediaType.APPLICATION_JSON_TYPE).build();
    }

    @GET
    @Path("/tags")
    public Response tags() {
        return Response.ok(Map.of("models", models.tags()), MediaType.APPLICATION_JSON_TYPE).build();
    }

    @GET
    @Path("/ps")
    public Response ps() {
        return Response.ok(Map.of("models", models.running()), MediaType.APPLICATION_JSON_TYPE).build();
    }

    @POST
    @Path("/show")
    @Consumes(MediaType.WILDCARD)
    public Response show(byte[] body) throws IOException {
        OllamaRequests.Show req = parse(body, OllamaRequests.Show.class);
        String model = req.model() != null && !req.model().isBlank() ? req.model() : req.name();
        models.require(model, "model");
        return Response.ok(models.show(Boolean.TRUE.equals(req.verbose())), MediaType.APPLICATION_JSON_TYPE).build();
    }

    @POST
    @Path("/generate")
    @Consumes(MediaType.WILDCARD)
    public Response generate(byte[] body, @Context HttpServerResponse http) throws IOException {
        long t0 = System.nanoTime();
        OllamaRequests.Generate req = parse(body, OllamaRequests.Generate.class);
        models.require(req.model(), "model");
        checks.refuseImages(req.images(), "images");
        checks.refuseFormat(req.format());
        checks.refuseThinking(req.think());
        if (req.suffix() != null && !req.suffix().isEmpty()) {
            throw ApiException.invalid("suffix", "suffix (fill in the middle) is not supported");
        }
        if (req.template() != null && !req.template().isEmpty()) {
            throw ApiException.invalid("template", "template is not supported: EdgeLLM applies the model's own chat template "
                    + "(send \"raw\": true to pass the prompt as it is)");
        }
        if (req.context() != null && !req.context().isNull() && !(req.context().isArray() && req.context().isEmpty())) {
            throw ApiException.invalid("context", "context (the tokens of an earlier answer) is not supported: send the conversation "
                    + "to /api/chat as messages");
        }
        String prompt = req.prompt() == null ? "" : req.prompt();
        if (prompt.isEmpty()) {
            // Ollama's way to load a model without generating: it is loaded for good here.
            engine.requireReady();
            return Response.ok(new GenerateLine(req.model(), now(), "", true, "load", null, null, null, null, null, null),
                    MediaType.APPLICATION_JSON_TYPE).build();
        }
        OllamaRequestRules.Prepared p = checks.prepare(req.options());
        boolean raw = Boolean.TRUE.equals(req.raw()) || !engine.hasChatTemplate();
        String system = raw || req.system() == null || req.system().isEmpty() ? null : req.system();
        rules.checkPromptBytes("prompt", RequestRules.utf8Length(prompt) + (system == null ? 0 : RequestRules.utf8Length(system)));
        try (EngineService.Reservation place = reserve()) {
            int[] tokens;
            if (raw) {
                tokens = engine.tokenize(prompt);
            } else {
                List<ChatMessage> messages = new ArrayList<>();
                if (system != null) {
                    messages.add(new ChatMessage("system", system));
                }
                messages.add(ChatMessage.user(prompt));
                tokens = tokenizeChat(messages, "prompt");
            }
            GenerationRequest gr = rules.request(tokens, p.checked(), p.context(), "prompt");
            String model = req.model();
            return run(place, gr, req.stream() == null || req.stream(), t0, http, new Lines() {
                @Override
                public Object piece(String text) {
                    return GenerateLine.piece(model, now(), text);
                }

                @Override
                public Object done(String text, Done d) {
                    return GenerateLine.done(model, now(), text, d);
                }
            });
        }
    }

    @POST
    @Path("/chat")
    @Consumes(MediaType.WILDCARD)
    public Response chat(byte[] body, @Context HttpServerResponse http) throws IOException {
        long t0 = System.nanoTime();
        OllamaRequests.Chat req = parse(body, OllamaRequests.Chat.class);
        models.require(req.model(), "model");
        if (req.tools() != null && !req.tools().isNull() && !(req.tools().isArray() && req.tools().isEmpty())) {
            throw ApiException.invalid("tools", "\"" + req.model() + "\" does not support tools");
        }
        checks.refuseFormat(req.format());
        checks.refuseThinking(req.think());
        if (req.messages() == null || req.messages().isEmpty()) {
            engine.requireReady();
            return Response.ok(new ChatLine(req.model(), now(), new OllamaResponses.Message("assistant", ""), true, "load", null, null, null,
                    null, null, null), MediaType.APPLICATION_JSON_TYPE).build();
        }
        List<ChatMessage> messages = checks.messages(req.messages(), req.model());
        OllamaRequestRules.Prepared p = checks.prepare(req.options());
        rules.checkPromptBytes("messages", RequestRules.utf8Length(messages));
        try (EngineService.Reservation place = reserve()) {
            GenerationRequest gr = rules.request(tokenizeChat(messages, "messages"), p.checked(), p.context(), "messages");
            String model = req.model();
            return run(place, gr, req.stream() == null || req.stream(), t0, http, new Lines() {
                @Override
                public Object piece(String text) {
                    return ChatLine.piece(model, now(), text);
                }

                @Override
                public Object done(String text, Done d) {
                    return ChatLine.done(model, now(), text, d);
                }
            });
        }
    }

    // ---- request checks ----------------------------------------------------------------------------

    private <T> T parse(byte[] body, Class<T> type) throws IOException {
        if (body == null || body.length == 0) {
            throw ApiException.invalid(null, "the request body is missing (a JSON object)");
        }
        T t = json.readValue(body, type);
        if (t == null) {
            throw ApiException.invalid(null, "the request body must be a JSON object, not null");
        }
        return t;
    }

    private int[] tokenizeChat(List<ChatMessage> messages, String param) {
        try {
            return engine.tokenizeChat(messages);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(param, e.getMessage());
        }
    }

    private EngineService.Reservation reserve() {
        return engine.tryReserve().orElseThrow(() -> new QueueFullException(engine.queueCapacity(), engine.retryAfter()));
    }

    // ---- answers -------------------------------------------------------------------------------------

    /** The lines of one endpoint: a piece of text, and the last one with the counts. */
    interface Lines {
        Object piece(String text);

        Object done(String text, Done d);
    }

    /**
     * Runs the job: NDJSON lines as the text comes (a last {@code done} line with the counts; an
     * {@code {"error"}} line if the engine fails), or one object when not streaming.
     */
    private Response run(EngineService.Reservation place, GenerationRequest gr, boolean stream, long t0, HttpServerResponse http, Lines lines) {
        long submitted = System.nanoTime(); // before the job is queued: its queue time is counted from there on
        JobStream job = new JobStream(place, gr, http);
        if (!stream) {
            try {
                while (true) {
                    Object e = job.next();
                    if (e == null) {
                        return Response.noContent().build(); // the client is gone
                    }
                    if (e instanceof GenerationOutcome o) {
                        return Response.ok(lines.done(o.text(), done(o, t0, submitted)), MediaType.APPLICATION_JSON_TYPE).build();
                    }
                    if (e instanceof Throwable t) {
                        throw t instanceof EngineFailureException f ? f : new EngineFailureException(t.getMessage(), t);
                    }
                }
            } catch (InterruptedException e) {
                job.cancel();
                Thread.currentThread().interrupt();
                throw new EngineFailureException("interrupted while waiting for the engine", e);
            }
        }
        StreamingOutput body = out -> {
            try {
                while (true) {
                    Object e = job.next();
                    if (e == null) {
                        return;
                    }
                    if (e instanceof String text) {
                        line(out, lines.piece(text));
                    } else if (e instanceof GenerationOutcome o) {
                        if (o.finishReason() != FinishReason.CANCELLED) {
                            line(out, lines.done("", done(o, t0, submitted)));
                        }
                        return;
                    } else {
                        line(out, Map.of("error", ((Throwable) e).getMessage()));
                        return;
                    }
                }
            } catch (IOException e) {
                job.cancel();
                throw e;
            } catch (InterruptedException e) {
                job.cancel();
                Thread.currentThread().interrupt();
            }
        };
        return Response.ok(body, NDJSON).header("Cache-Control", "no-cache").header("X-Accel-Buffering", "no").build();
    }

    private static Done done(GenerationOutcome o, long t0, long submitted) {
        String reason = o.finishReason() == FinishReason.STOP ? "stop" : "length";
        return new Done(reason, System.nanoTime() - t0, (submitted - t0) + o.queueNanos(), o.promptTokens(), o.promptNanos(),
                o.completionTokens(), o.decodeNanos());
    }

    private void line(OutputStream out, Object value) throws IOException {
        out.write(json.writeValueAsBytes(value));
        out.write('\n');
        out.flush();
    }

    private static String now() {
        return Instant.now().toString();
    }
}
