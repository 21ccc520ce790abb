package dev.edgellm.service.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watches file: YAML read into the API's shape, and told when it changes. */
class WatchFileTest {
    @Test
    void yamlIsReadAndAChangeIsNoticed(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("watches.yaml");
        WatchFile file = new WatchFile(f);
        assertTrue(file.read().isEmpty());
        assertFalse(file.changed());
        Files.writeString(f, """
                watches:
                  press:
                    topics: [factory/+/telemetry]
                    extract: {temp: $.temp_c, machine: "topic[1]"}
                    window: {time: 10m, count: 500}
                    trigger: {condition: "$.temp_c > 90"}
                    publish-to: factory/summary
                """);
        assertTrue(file.changed());
        var read = file.read();
        assertFalse(file.changed());
        WatchSpec s = new WatchSpecs(new WatchSpecs.Limits("edgellm", 400)).fromJson("press", read.get("press"), "file");
        assertEquals("factory/summary", s.publishTo());
        assertEquals("topic[1]", s.extract().get("machine"));
        assertEquals(500, s.windowCount());
        Files.writeString(f, "watches: {}\n");
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(5)));
        assertTrue(file.changed());
        assertTrue(file.read().isEmpty());
    }
}
