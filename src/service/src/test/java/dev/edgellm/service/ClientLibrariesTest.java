package dev.edgellm.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.ModelNotFoundException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.ollama.OllamaChatModel;
import dev.langchain4j.model.ollama.OllamaModel;
import dev.langchain4j.model.ollama.OllamaModelCard;
import dev.langchain4j.model.ollama.OllamaModels;
import dev.langchain4j.model.ollama.OllamaStreamingChatModel;
import dev.langchain4j.model.ollama.RunningOllamaModel;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.Reference;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client libraries gateway owners' Java services use, against the node as they find it: the
 * official OpenAI Java SDK, LangChain4j's OpenAI module and LangChain4j's Ollama module. Each one
 * chats (equal to the engine's greedy output), streams, stops at a stop string, stops at its token
 * limit, and surfaces a 4xx as its own exception type. {@link ClientLibrariesIT} runs them against
 * the packaged app.
 */
@QuarkusTest
@TestProfile(Profiles.Gemma.class)
class ClientLibrariesTest {
    static final String MODEL = "gemma3-tiny-q4_0";
    static final String SYSTEM = "You are terse.";
    static final String USER = "Name a colour.";
    static final int N = 8;
    static Generator.Result expected;

    @BeforeAll
    static void oracle() throws Exception {
        expected = Reference.chat(Profiles.gemma(), List.of(new ChatMessage("system", SYSTEM), ChatMessage.user(USER)), N);
    }

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    static String base() {
        return "http://127.0.0.1:" + RestAssured.port;
    }

    /** A stop string from the middle of the greedy answer, and the answer cut before it. */
    static String[] stopAndCut() {
        // the first two characters that occur first where they stand, so the answer before them is not empty
        String full = expected.text();
        for (int i = 1; i + 2 <= full.length(); i++) {
            String stop = full.substring(i, i + 2);
            if (full.indexOf(stop) == i) {
                return new String[] {stop, full.substring(0, i)};
            }
        }
        throw new AssertionError("no stop string to cut the greedy answer with: '" + full + "'");
    }

    // ---- the official OpenAI Java SDK ---------------------------------------------------------------

    static OpenAIClient openAi() {
        return OpenAIOkHttpClient.builder().baseUrl(base() + "/v1").apiKey("not-needed-on-loopback").maxRetries(0)
                .timeout(Duration.ofSeconds(60)).build();
    }

    static ChatCompletionCreateParams.Builder openAiChat() {
        return ChatCompletionCreateParams.builder().model(MODEL).addSystemMessage(SYSTEM).addUserMessage(USER).temperature(0.0);
    }

    @Test
    void openAiSdkChatsStreamsAndStops() {
        OpenAIClient client = openAi();
        try {
            ChatCompletion c = client.chat().completions().create(openAiChat().maxCompletionTokens(N).build());
            assertEquals(expected.text(), c.choices().getFirst().message().content().orElseThrow());
            assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, c.choices().getFirst().finishReason());
            assertEquals(N, c.usage().orElseThrow().completionTokens());
            assertEquals(expected.promptTokens(), c.usage().orElseThrow().promptTokens());

            StringBuilder streamed = new StringBuilder();
            AtomicInteger chunks = new AtomicInteger();
            try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(openAiChat().maxTokens((long) N).build())) {
                s.stream().forEach(chunk -> {
                    chunks.incrementAndGet();
                    chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append));
                });
            }
            assertEquals(expected.text(), streamed.toString());
            assertTrue(chunks.get() > 2, "streamed in pieces");

            String[] sc = stopAndCut();
            ChatCompletion stopped = client.chat().completions().create(openAiChat().maxTokens((long) N).stop(sc[0]).build());
            assertEquals(sc[1], stopped.choices().getFirst().message().content().orElse(""));
            assertEquals(ChatCompletion.Choice.FinishReason.STOP, stopped.choices().getFirst().finishReason());

            Completion text = client.completions().create(CompletionCreateParams.builder().model(MODEL).prompt("Once upon a time")
                    .maxTokens(3L).temperature(0.0).build());
            assertEquals(3, text.usage().orElseThrow().completionTokens());

            assertEquals(MODEL, client.models().list().data().getFirst().id());

            BadRequestException e = assertThrows(BadRequestException.class,
                    () -> client.chat().completions().create(openAiChat().maxTokens((long) N).n(2L).build()));
            assertEquals(400, e.statusCode());
            assertTrue(e.getMessage().contains("n = 1"), e.getMessage());
        } finally {
            client.close();
        }
    }

    // ---- LangChain4j, OpenAI module -----------------------------------------------------------------

    @Test
    void langChain4jOpenAiChatsStreamsAndStops() throws Exception {
        ChatModel model = OpenAiChatModel.builder().baseUrl(base() + "/v1").apiKey("not-needed-on-loopback").modelName(MODEL)
                .temperature(0.0).maxTokens(N).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        ChatResponse r = model.chat(request());
        assertEquals(expected.text(), r.aiMessage().text());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(N, r.tokenUsage().outputTokenCount());

        StreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(base() + "/v1").apiKey("not-needed-on-loopback")
                .modelName(MODEL).temperature(0.0).maxTokens(N).timeout(Duration.ofSeconds(60)).build();
        Streamed s = stream(streaming);
        assertEquals(expected.text(), s.text());
        assertEquals(expected.text(), s.response().aiMessage().text());
        assertEquals(FinishReason.LENGTH, s.response().finishReason());

        String[] sc = stopAndCut();
        ChatModel stopping = OpenAiChatModel.builder().baseUrl(base() + "/v1").apiKey("not-needed-on-loopback").modelName(MODEL)
                .temperature(0.0).maxTokens(N).stop(List.of(sc[0])).maxRetries(0).build();
        ChatResponse cut = stopping.chat(request());
        assertEquals(sc[1], cut.aiMessage().text());
        assertEquals(FinishReason.STOP, cut.finishReason());

        ChatModel bad = OpenAiChatModel.builder().baseUrl(base() + "/v1").apiKey("not-needed-on-loopback").modelName(MODEL)
                .temperature(5.0).maxRetries(0).build();
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> bad.chat(request()));
        assertTrue(e.getMessage().contains("temperature"), e.getMessage());
    }

    // ---- LangChain4j, Ollama module -----------------------------------------------------------------

    @Test
    void langChain4jOllamaChatsStreamsAndStops() throws Exception {
        ChatModel model = OllamaChatModel.builder().baseUrl(base()).modelName(MODEL).temperature(0.0).numPredict(N)
                .timeout(Duration.ofSeconds(60)).build();
        ChatResponse r = model.chat(request());
        assertEquals(expected.text(), r.aiMessage().text());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(N, r.tokenUsage().outputTokenCount());
        assertEquals(expected.promptTokens(), r.tokenUsage().inputTokenCount());

        StreamingChatModel streaming = OllamaStreamingChatModel.builder().baseUrl(base()).modelName(MODEL).temperature(0.0).numPredict(N)
                .timeout(Duration.ofSeconds(60)).build();
        Streamed s = stream(streaming);
        assertEquals(expected.text(), s.text());
        assertEquals(N, s.response().tokenUsage().outputTokenCount());

        String[] sc = stopAndCut();
        ChatModel stopping = OllamaChatModel.builder().baseUrl(base()).modelName(MODEL + ":latest").temperature(0.0).numPredict(N)
                .stop(List.of(sc[0])).build();
        ChatResponse cut = stopping.chat(request());
        assertEquals(sc[1], cut.aiMessage().text());
        assertEquals(FinishReason.STOP, cut.finishReason());

        ChatModel other = OllamaChatModel.builder().baseUrl(base()).modelName("llama3.2").build();
        assertThrows(ModelNotFoundException.class, () -> other.chat(request()));
        ChatModel tooLong = OllamaChatModel.builder().baseUrl(base()).modelName(MODEL).numCtx(100_000).build();
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> tooLong.chat(request()));
        assertTrue(e.getMessage().contains("num_ctx"), e.getMessage());
    }

    @Test
    void langChain4jOllamaListsShowsAndSeesTheRunningModel() {
        OllamaModels models = OllamaModels.builder().baseUrl(base()).timeout(Duration.ofSeconds(30)).build();
        List<OllamaModel> available = models.availableModels().content();
        assertEquals(1, available.size());
        assertEquals(MODEL + ":latest", available.getFirst().getName());
        assertEquals("gguf", available.getFirst().getDetails().getFormat());
        OllamaModelCard card = models.modelCard(MODEL).content();
        assertTrue(card.getParameters().contains("num_ctx"), card.getParameters());
        assertEquals("gemma3", card.getModelInfo().get("general.architecture"));
        List<RunningOllamaModel> running = models.runningModels().content();
        assertEquals(MODEL + ":latest", running.getFirst().getName());
        assertTrue(running.getFirst().getExpiresAt() != null);
    }

    static ChatRequest request() {
        return ChatRequest.builder().messages(SystemMessage.from(SYSTEM), UserMessage.from(USER)).build();
    }

    record Streamed(String text, ChatResponse response, int pieces) {}

    static Streamed stream(StreamingChatModel model) throws Exception {
        StringBuilder text = new StringBuilder();
        AtomicInteger pieces = new AtomicInteger();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        model.chat(request(), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                synchronized (text) {
                    text.append(partial);
                }
                pieces.incrementAndGet();
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        assertTrue(pieces.get() > 1, "streamed in pieces");
        synchronized (text) {
            return new Streamed(text.toString(), r, pieces.get());
        }
    }
}
