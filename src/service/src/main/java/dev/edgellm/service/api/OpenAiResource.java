package dev.edgellm.service.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.api.openai.ChatCompletionRequest;
import dev.edgellm.service.api.openai.CompletionRequest;
import dev.edgellm.service.api.openai.Responses.ChatChoice;
import dev.edgellm.service.api.openai.Responses.ChatChunk;
import dev.edgellm.service.api.openai.Responses.ChatCompletion;
import dev.edgellm.service.api.openai.Responses.ChatMessageOut;
import dev.edgellm.service.api.openai.Responses.ChunkChoice;
import dev.edgellm.service.api.openai.Responses.Completion;
import dev.edgellm.service.api.openai.Responses.CompletionChoice;
import dev.edgellm.service.api.openai.Responses.Delta;
import dev.edgellm.service.api.openai.Responses.ErrorBody;
import dev.edgellm.service.api.openai.Responses.ErrorDetail;
import dev.edgellm.service.api.openai.Responses.ModelCard;
import dev.edgellm.service.api.openai.Responses.ModelList;
import dev.edgellm.service.api.openai.Responses.Timings;
import dev.edgellm.service.api.openai.Responses.Usage;
import dev.edgellm.service.request.RequestRules;
import dev.edgellm.service.engine.EngineFailureException;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.GenerationJob;
import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.engine.GenerationRequest;
import dev.edgellm.service.engine.JobHandle;
import dev.edgellm.service.engine.QueueFullException;
import io.vertx.core.http.HttpServerResponse;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionException;

/**
 * The OpenAI-compatible API: {@code POST /v1/chat/completions}, {@code POST /v1/completions}
 * (JSON, or server-sent events with {@code stream: true} ending in {@code data: [DONE]}) and
 * {@code GET /v1/models}.
 *
 * <p>A request takes a place in the engine's queue before its prompt is tokenized (a full queue
 * answers 429 at once), and is cancelled when its client disconnects.
 */
@Path("/v1")
public class OpenAiResource {
    static final String SSE = "text/event-stream";
    private static final String FINGERPRINT = "edgellm";
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    @Inject
    EngineService engine;
    @Inject
    RequestRules rules;
    @Inject
    OpenAiRules openAi;
    @Inject
    ObjectMapper json;

    @GET
    @Path("/models")
    @Produces(MediaType.APPLICATION_JSON)
    public ModelList models() {
        if (!engine.status().ready()) {
            return new ModelList("list", List.of());
        }
        long created = engine.readyAt() == null ? 0 : engine.readyAt().getEpochSecond();
        return new ModelList("list", List.of(new ModelCard(engine.modelId(), "model", created, "edgellm", engine.context())));
    }

    @POST
    @Path("/chat/completions")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({MediaType.APPLICATION_JSON, SSE})
    public Response chat(ChatCompletionRequest req, @Context HttpServerResponse http) {
        if (req == null) {
            throw ApiException.invalid(null, "the request body is missing");
        }
        OpenAiRules.Checked c = openAi.check(req);
        var messages = openAi.messages(req);
        rules.checkPromptBytes("messages", RequestRules.utf8Length(messages));
        try (EngineService.Reservation place = reserve()) {
            int[] prompt;
            try {
                prompt = engine.tokenizeChat(messages);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("messages", e.getMessage());
            }
            GenerationRequest gr = rules.request(prompt, c.base(), engine.context(), "messages");
            Call call = new Call("chatcmpl-", true, engine.modelId(), Instant.now().getEpochSecond());
            return c.stream() ? stream(place, gr, call, c.includeUsage(), http) : complete(place, gr, call, http);
        }
    }

    @POST
    @Path("/completions")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({MediaType.APPLICATION_JSON, SSE})
    public Response completions(CompletionRequest req, @Context HttpServerResponse http) {
        if (req == null) {
            throw ApiException.invalid(null, "the request body is missing");
        }
        OpenAiRules.Checked c = openAi.check(req);
        if (req.bestOf() != null && req.bestOf() != 1) {
            throw ApiException.invalid("best_of", "only best_of = 1 is supported");
        }
        if (Boolean.TRUE.equals(req.echo())) {
            throw ApiException.invalid("echo", "echo is not supported");
        }
        if (req.suffix() != null && !req.suffix().isEmpty()) {
            throw ApiException.invalid("suffix", "suffix (insertion) is not supported");
        }
        JsonNode p = req.prompt();
        if (p == null || p.isNull()) {
            throw ApiException.invalid("prompt", "prompt is missing");
        }
        checkPromptSize(p);
        try (EngineService.Reservation place = reserve()) {
            int[] prompt = promptTokens(p);
            GenerationRequest gr = rules.request(prompt, c.base(), engine.context(), "prompt");
            Call call = new Call("cmpl-", false, engine.modelId(), Instant.now().getEpochSecond());
            return c.stream() ? stream(place, gr, call, c.includeUsage(), http) : complete(place, gr, call, http);
        }
    }

    /** Refuses a prompt too large to be tokenized or held, before it takes a queue place. */
    private void checkPromptSize(JsonNode p) {
        JsonNode q = p.isArray() && p.size() == 1 && (p.get(0).isTextual() || p.get(0).isArray()) ? p.get(0) : p;
        if (q.isTextual()) {
            rules.checkPromptBytes("prompt", RequestRules.utf8Length(q.asText()));
        } else if (q.isArray()) {
            rules.checkPromptTokens("prompt", q.size());
        }
    }

    /** A string, one string in an array, or token ids (flat, or one array in an array). */
    private int[] promptTokens(JsonNode p) {
        if (p.isArray() && p.size() == 1 && (p.get(0).isTextual() || p.get(0).isArray())) {
            p = p.get(0);
        }
        if (p.isTextual()) {
            if (p.asText().isEmpty()) {
                throw ApiException.invalid("prompt", "prompt is empty");
            }
            return engine.tokenize(p.asText());
        }
        if (p.isArray() && !p.isEmpty()) {
            int[] ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode t = p.get(i);
                if (!t.canConvertToInt() || !t.isIntegralNumber() || !engine.validToken(t.asInt())) {
                    throw ApiException.invalid("prompt", "prompt[" + i + "] is not a token id of this model");
                }
                ids[i] = t.asInt();
            }
            return ids;
        }
        throw ApiException.invalid("prompt", "prompt must be a string, an array with one string, or an array of token ids");
    }

    private EngineService.Reservation reserve() {
        return engine.tryReserve().orElseThrow(() -> new QueueFullException(engine.queueCapacity(), engine.retryAfter()));
    }

    /** What the response chunks share. */
    private record Call(String idPrefix, boolean chat, String model, long created) {}

    private Response complete(EngineService.Reservation place, GenerationRequest gr, Call call, HttpServerResponse http) {
        JobHandle h = place.submit(new GenerationJob("http", gr, null, http::closed));
        GenerationOutcome o;
        try {
            o = h.result().toCompletableFuture().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof EngineFailureException f ? f : e;
        }
        String id = call.idPrefix() + h.id();
        Usage usage = usage(o);
        Object body = call.chat()
                ? new ChatCompletion(id, "chat.completion", call.created(), call.model(),
                        List.of(new ChatChoice(0, new ChatMessageOut("assistant", o.text()), null, o.finishReason().openAi())), usage, FINGERPRINT,
                        timings(o), o.finishReason().truncatedBy())
                : new Completion(id, "text_completion", call.created(), call.model(), FINGERPRINT,
                        List.of(new CompletionChoice(o.text(), 0, null, o.finishReason().openAi())), usage, timings(o), o.finishReason().truncatedBy());
        return Response.ok(body, MediaType.APPLICATION_JSON_TYPE).build();
    }

    private Response stream(EngineService.Reservation place, GenerationRequest gr, Call call, boolean includeUsage, HttpServerResponse http) {
        JobStream job = new JobStream(place, gr, http);
        String id = call.idPrefix() + job.id();
        StreamingOutput body = out -> {
            try {
                if (call.chat()) {
                    event(out, new ChatChunk(id, "chat.completion.chunk", call.created(), call.model(), FINGERPRINT,
                            List.of(new ChunkChoice(0, new Delta("assistant", ""), null, null)), null, null));
                }
                while (true) {
                    Object e = job.next();
                    if (e == null) {
                        return; // the client is gone
                    }
                    if (e instanceof String text) {
                        event(out, chunk(call, id, text, null, null, null));
                    } else if (e instanceof GenerationOutcome o) {
                        if (o.finishReason() == dev.edgellm.service.engine.FinishReason.CANCELLED) {
                            return; // the client is gone
                        }
                        event(out, chunk(call, id, null, o.finishReason().openAi(), usage(o), o.finishReason().truncatedBy()));
                        if (includeUsage) {
                            event(out, call.chat()
                                    ? new ChatChunk(id, "chat.completion.chunk", call.created(), call.model(), FINGERPRINT, List.of(), usage(o), null)
                                    : new Completion(id, "text_completion", call.created(), call.model(), FINGERPRINT, List.of(), usage(o), null, null));
                        }
                        out.write(DONE);
                        out.flush();
                        return;
                    } else {
                        event(out, new ErrorBody(new ErrorDetail(((Throwable) e).getMessage(), ApiException.SERVER_ERROR, null, "engine_failure")));
                        out.write(DONE);
                        out.flush();
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
        return Response.ok(body, SSE).header("Cache-Control", "no-cache").header("X-Accel-Buffering", "no").build();
    }

    private Object chunk(Call call, String id, String text, String finish, Usage usage, String truncatedBy) {
        if (call.chat()) {
            return new ChatChunk(id, "chat.completion.chunk", call.created(), call.model(), FINGERPRINT,
                    List.of(new ChunkChoice(0, text == null ? new Delta(null, null) : new Delta(null, text), null, finish)), usage, truncatedBy);
        }
        return new Completion(id, "text_completion", call.created(), call.model(), FINGERPRINT,
                List.of(new CompletionChoice(text == null ? "" : text, 0, null, finish)), usage, null, truncatedBy);
    }

    private void event(OutputStream out, Object chunk) throws IOException {
        out.write(("data: " + json.writeValueAsString(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static Usage usage(GenerationOutcome o) {
        return new Usage(o.promptTokens(), o.completionTokens(), o.totalTokens());
    }

    private static Timings timings(GenerationOutcome o) {
        double promptMs = o.promptNanos() / 1e6;
        double decodeMs = o.decodeNanos() / 1e6;
        return new Timings(o.queueNanos() / 1e6, o.promptTokens(), promptMs, promptMs > 0 ? o.promptTokens() * 1000 / promptMs : 0,
                o.completionTokens(), decodeMs, o.tokensPerSecond(), o.firstTokenNanos() / 1e6);
    }
}
