package dev.edgellm.service.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The REST API's keys: those configured ({@code edgellm.api.keys}) and those of a key file
 * ({@code edgellm.api.keys-file}), which is read again when its modification time changes (at most
 * every {@link #RECHECK_NANOS}), so a rotated Kubernetes Secret takes effect without a restart.
 *
 * <p>Keys are kept as SHA-256 digests and a presented key is compared with every one of them in
 * constant time ({@link MessageDigest#isEqual}, no early exit), so neither the content nor the
 * length of a key leaks through response timing. Thread-safe.
 */
public final class ApiKeys {
    private static final Logger LOG = Logger.getLogger(ApiKeys.class);
    /** Shortest key accepted. */
    public static final int MIN_LENGTH = 16;
    static final long RECHECK_NANOS = 5_000_000_000L;

    private final List<byte[]> configured;
    private final Path file;
    private volatile List<byte[]> fromFile = List.of();
    private volatile FileTime fileTime;
    private volatile long checkedAt;

    private ApiKeys(List<byte[]> configured, Path file) {
        this.configured = configured;
        this.file = file;
    }

    /**
     * Loads the keys.
     *
     * @throws IllegalArgumentException when a key is too short or has spaces, or the key file cannot be read
     */
    public static ApiKeys load(Optional<List<String>> keys, Optional<String> keysFile) {
        List<byte[]> c = new ArrayList<>();
        for (String k : keys.orElse(List.of())) {
            if (k == null || k.isBlank()) {
                continue; // an empty EDGELLM_API_KEYS is no key
            }
            c.add(digest(validate(k.strip(), "edgellm.api.keys")));
        }
        Path f = keysFile.filter(s -> !s.isBlank()).map(Path::of).orElse(null);
        ApiKeys a = new ApiKeys(List.copyOf(c), f);
        if (f != null) {
            try {
                a.reload();
            } catch (IOException e) {
                throw new IllegalArgumentException("edgellm.api.keys-file " + f + " cannot be read: " + e.getMessage(), e);
            }
        }
        return a;
    }

    /** Whether any key is set: then the API requires one. */
    public boolean enabled() {
        refreshIfChanged();
        return !configured.isEmpty() || !fromFile.isEmpty() || file != null;
    }

    /** How many keys are in force. */
    public int count() {
        refreshIfChanged();
        return configured.size() + fromFile.size();
    }

    /** Whether {@code presented} is one of the keys; the time taken does not depend on which key (if any) matches. */
    public boolean accepts(String presented) {
        if (presented == null) {
            return false;
        }
        refreshIfChanged();
        byte[] d = digest(presented);
        boolean ok = false;
        for (byte[] k : configured) {
            ok |= MessageDigest.isEqual(d, k);
        }
        for (byte[] k : fromFile) {
            ok |= MessageDigest.isEqual(d, k);
        }
        return ok;
    }

    private void refreshIfChanged() {
        if (file == null) {
            return;
        }
        long now = System.nanoTime();
        if (now - checkedAt < RECHECK_NANOS) {
            return;
        }
        checkedAt = now;
        try {
            FileTime t = Files.getLastModifiedTime(file);
            if (!t.equals(fileTime)) {
                reload();
                LOG.infof("API keys re-read from %s: %d key(s)", file, fromFile.size());
            }
        } catch (IOException | IllegalArgumentException e) {
            // keep the keys we have: a Secret being swapped is briefly absent
            LOG.warnf("cannot re-read the API keys file %s (%s); the previous keys stay in force", file, e.getMessage());
        }
    }

    private synchronized void reload() throws IOException {
        FileTime t = Files.getLastModifiedTime(file);
        List<byte[]> keys = new ArrayList<>();
        int line = 0;
        for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            line++;
            int hash = l.indexOf('#');
            String k = (hash >= 0 ? l.substring(0, hash) : l).strip();
            if (!k.isEmpty()) {
                keys.add(digest(validate(k, file + " line " + line)));
            }
        }
        fromFile = List.copyOf(keys);
        fileTime = t;
    }

    private static String validate(String key, String where) {
        if (key.length() < MIN_LENGTH) {
            throw new IllegalArgumentException(where + ": an API key has " + key.length() + " characters; use at least " + MIN_LENGTH
                    + " (for example: openssl rand -hex 32)");
        }
        for (int i = 0; i < key.length(); i++) {
            char ch = key.charAt(i);
            if (Character.isWhitespace(ch) || Character.isISOControl(ch)) {
                throw new IllegalArgumentException(where + ": an API key contains a space or control character");
            }
        }
        return key;
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The token of an {@code Authorization: Bearer <token>} header, null for any other header. */
    public static String bearer(String authorization) {
        if (authorization == null) {
            return null;
        }
        String a = authorization.strip();
        if (a.length() < 7 || !a.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String t = a.substring(7).strip();
        return t.isEmpty() ? null : t;
    }
}
