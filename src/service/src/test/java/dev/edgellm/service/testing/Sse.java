package dev.edgellm.service.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Reads server-sent event streams in OpenAI's format: {@code data: {json}} events, then {@code data: [DONE]}. */
public final class Sse {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Sse() {}

    /** The JSON events of a complete stream; checks the framing and the final {@code [DONE]}. */
    public static List<JsonNode> events(String body) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        String[] blocks = body.split("\n\n");
        for (int i = 0; i < blocks.length; i++) {
            String b = blocks[i];
            assertTrue(b.startsWith("data: "), "every event is one 'data: ' line: " + b);
            String data = b.substring("data: ".length());
            if (i == blocks.length - 1) {
                assertEquals("[DONE]", data, "the stream ends with data: [DONE]");
            } else {
                out.add(JSON.readTree(data));
            }
        }
        assertTrue(body.endsWith("data: [DONE]\n\n"), "stream ends with [DONE] and a blank line");
        return out;
    }

    /** The concatenated text of a stream's chunks (chat deltas or completion texts). */
    public static String text(List<JsonNode> events) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode e : events) {
            for (JsonNode c : e.path("choices")) {
                if (c.has("delta")) {
                    sb.append(c.path("delta").path("content").asText(""));
                } else {
                    sb.append(c.path("text").asText(""));
                }
            }
        }
        return sb.toString();
    }

    /**
     * A raw HTTP/1.1 connection that posts JSON and reads the streamed answer line by line, so a
     * test can hang up in the middle.
     */
    public static final class RawStream implements AutoCloseable {
        private final Socket socket;
        private final BufferedReader in;

        public RawStream(int port, String path, String json) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(60_000);
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        }

        /** The status line. */
        public String status() throws IOException {
            return in.readLine();
        }

        /** Reads until the next {@code data:} line with content and returns its JSON. */
        public JsonNode nextContentEvent() throws IOException {
            for (String l; (l = in.readLine()) != null; ) {
                int at = l.indexOf("data: {");
                if (at >= 0) {
                    JsonNode n = JSON.readTree(l.substring(at + "data: ".length()));
                    JsonNode c = n.path("choices").path(0);
                    if (!c.path("delta").path("content").asText("").isEmpty() || !c.path("text").asText("").isEmpty()) {
                        return n;
                    }
                }
            }
            throw new IOException("the stream ended before any content");
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
