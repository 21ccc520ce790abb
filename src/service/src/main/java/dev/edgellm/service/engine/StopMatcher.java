package dev.edgellm.service.engine;

import java.util.List;

/**
 * Cuts generated text at the first stop string. Text arrives in pieces; a piece's tail that could
 * be the beginning of a stop string is held back until the next piece decides, so a streaming
 * client never sees any part of a stop string.
 */
public final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private final StringBuilder emitted = new StringBuilder();
    private boolean matched;

    public StopMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** Takes the next piece of text and returns what can be released now (possibly empty). */
    public String accept(String piece) {
        if (matched || piece.isEmpty()) {
            return "";
        }
        if (stops.isEmpty()) {
            emitted.append(piece);
            return piece;
        }
        pending.append(piece);
        int cut = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) {
                cut = i;
            }
        }
        if (cut >= 0) {
            matched = true;
            return release(cut);
        }
        return release(pending.length() - heldBack());
    }

    /** The end of generation: releases whatever was held back (nothing after a match). */
    public String finish() {
        if (matched) {
            return "";
        }
        return release(pending.length());
    }

    /** Whether a stop string was found; generation should end. */
    public boolean matched() {
        return matched;
    }

    /** All text released so far. */
    public String text() {
        return emitted.toString();
    }

    /** Length of the longest tail of {@code pending} that is a proper prefix of a stop string. */
    private int heldBack() {
        int best = 0;
        String p = pending.toString();
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, p.length()); k > best; k--) {
                if (p.regionMatches(p.length() - k, s, 0, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    /** Releases the first {@code n} chars of {@code pending}; the rest stays pending unless a stop matched. */
    private String release(int n) {
        String out = pending.substring(0, n);
        if (matched) {
            pending.setLength(0);
        } else {
            pending.delete(0, n);
        }
        emitted.append(out);
        return out;
    }
}
