package dev.edgellm.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.PriorityQueue;

/**
 * Text to token ids as llama.cpp's SPM tokenizer does it: special-token partitioning
 * ({@code tokenizer_st_partition}), the space prefix and '▁' escaping, then
 * {@code llm_tokenizer_spm} over each text fragment with byte fallback.
 */
final class SpmEncoder {
    private final Vocabulary v;

    SpmEncoder(Vocabulary v) {
        this.v = v;
    }

    /**
     * Tokenizes {@code text} as llama.cpp's {@code llama_tokenize(vocab, text, add_special, parse_special)}.
     *
     * @param addSpecial   prepend BOS if {@code add_bos_token} (and append EOS if {@code add_eos_token})
     * @param parseSpecial recognise control tokens (e.g. {@code <start_of_turn>}) written in the
     *                     text; user-defined tokens are always recognised
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        String s = replaceLoneSurrogates(text);
        IntList out = new IntList(Math.max(16, s.length() / 2));
        if (addSpecial && v.addBos) {
            out.add(v.bos);
        }
        Fragments fragments = partition(s, parseSpecial);
        boolean prevSpecial = true; // the first text fragment gets the space prefix too
        StringBuilder sb = new StringBuilder();
        for (int f = 0; f < fragments.size; f++) {
            int token = fragments.token[f];
            if (token >= 0) {
                out.add(token);
                prevSpecial = true;
                continue;
            }
            sb.setLength(0);
            if (v.addSpacePrefix && prevSpecial) {
                sb.append(' ');
            }
            sb.append(s, fragments.start[f], fragments.end[f]);
            for (int i = 0; i < sb.length(); i++) {
                if (sb.charAt(i) == ' ') {
                    sb.setCharAt(i, Vocabulary.SPACE_MARK);
                }
            }
            new SpmSession(sb.toString()).tokenize(out);
            prevSpecial = false;
        }
        if (addSpecial && v.addEos) {
            out.add(v.eos);
        }
        return out.toArray();
    }

    /**
     * llama.cpp sees bytes; a Java string can hold an unpaired surrogate, which has no UTF-8 form.
     * Such a char is treated as U+FFFD (what a UTF-8 decoder makes of the bytes it came from).
     */
    private static String replaceLoneSurrogates(String s) {
        char[] chars = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                if (chars == null) {
                    chars = s.toCharArray();
                }
                chars[i] = Utf8.REPLACEMENT;
            }
        }
        return chars == null ? s : new String(chars);
    }

    /** Text fragments ({@code token == -1}, chars {@code [start, end)}) and special tokens, in order. */
    private static final class Fragments {
        int size;
        int[] token = new int[8];
        int[] start = new int[8];
        int[] end = new int[8];

        void add(int t, int s, int e) {
            if (size == token.length) {
                token = Arrays.copyOf(token, size * 2);
                start = Arrays.copyOf(start, size * 2);
                end = Arrays.copyOf(end, size * 2);
            }
            token[size] = t;
            start[size] = s;
            end[size] = e;
            size++;
        }
    }

    /**
     * llama.cpp's {@code tokenizer_st_partition}: for each special token in cache order, split every
     * remaining text fragment at each (non-overlapping, leftmost-first) occurrence of its text.
     * Control and unknown tokens only take part when {@code parseSpecial}. Tokens whose text does
     * not occur anywhere in the input are skipped up front (a trie scan), which changes nothing
     * but the cost.
     */
    private Fragments partition(String text, boolean parseSpecial) {
        Fragments frags = new Fragments();
        if (text.isEmpty()) {
            return frags;
        }
        frags.add(-1, 0, text.length());
        if (v.specials.length == 0) {
            return frags;
        }
        boolean[] occurs = new boolean[v.specials.length];
        if (v.specialTrie.findOccurring(text, occurs) == 0) {
            return frags;
        }
        for (int c = 0; c < v.specials.length; c++) {
            if (!occurs[c]) {
                continue;
            }
            int id = v.specials[c];
            int attr = v.attrs[id];
            if (!parseSpecial && (attr & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN)) != 0) {
                continue;
            }
            String t = v.specialTexts[c];
            Fragments next = new Fragments();
            // Fragments come in text order, so the next occurrence found for an earlier fragment is
            // still the next one for a later fragment if it lies beyond that fragment's start: each
            // token's text is then scanned once, however many fragments there are.
            int nextMatch = -1;
            for (int f = 0; f < frags.size; f++) {
                if (frags.token[f] >= 0) {
                    next.add(frags.token[f], 0, 0);
                    continue;
                }
                int base = frags.start[f];
                int end = frags.end[f];
                while (true) {
                    if (nextMatch < base) {
                        nextMatch = text.indexOf(t, base);
                        if (nextMatch < 0) {
                            nextMatch = Integer.MAX_VALUE;
                        }
                    }
                    int m = nextMatch;
                    if (m == Integer.MAX_VALUE || m + t.length() > end) {
                        if (end > base) {
                            next.add(-1, base, end);
                        }
                        break;
                    }
                    int leftEnd = m;
                    if ((attr & Vocabulary.ATTR_LSTRIP) != 0) {
                        while (leftEnd > base && isSpace(text.charAt(leftEnd - 1))) {
                            leftEnd--;
                        }
                    }
                    if (leftEnd > base) {
                        next.add(-1, base, leftEnd);
                    }
                    next.add(id, 0, 0);
                    int right = m + t.length();
                    if (right >= end) {
                        break;
                    }
                    if ((attr & Vocabulary.ATTR_RSTRIP) != 0) {
                        while (right < end && isSpace(text.charAt(right))) {
                            right++;
                        }
                    }
                    base = right;
                }
            }
            frags = next;
        }
        return frags;
    }

    /** C {@code isspace} in the "C" locale. */
    private static boolean isSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    private int byteToken(int b) {
        int id = v.byteTokens[b];
        if (id >= 0) {
            return id;
        }
        if (v.unk >= 0) {
            return v.unk;
        }
        throw new IllegalArgumentException(String.format("cannot encode byte 0x%02X: the vocabulary has no <0x%02X> token and no unknown token", b, b));
    }

    /**
     * One run of llama.cpp's {@code llm_tokenizer_spm_session::tokenize} over an escaped text
     * fragment. Symbols are the text's code points (llama.cpp splits by UTF-8 lead byte, the same
     * thing for valid UTF-8); the best-scoring adjacent pair that forms a vocabulary token is merged
     * until none is left (ties: leftmost first); each final symbol is its token, or its UTF-8 bytes
     * as byte tokens.
     *
     * <p>llama.cpp also records the pair each merged text came from ({@code rev_merge}) to re-split
     * symbols that are not tokens, but a merged symbol is by construction a token and an unmerged
     * one is a single character, so that path is never taken and is left out here.
     */
    private final class SpmSession {
        private final String text;
        private final int[] start;
        private final int[] len; // in chars; 0 once merged into the left neighbour
        private final int[] prev;
        private final int[] next;
        private final int[] merged; // token id of a merged symbol, -1 for a single character
        private final PriorityQueue<Bigram> queue = new PriorityQueue<>(Bigram::compare);

        SpmSession(String text) {
            this.text = text;
            int n = text.length();
            start = new int[n];
            len = new int[n];
            prev = new int[n];
            next = new int[n];
            merged = new int[n];
            int count = 0;
            for (int i = 0; i < n; ) {
                int cl = Character.isHighSurrogate(text.charAt(i)) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1)) ? 2 : 1;
                start[count] = i;
                len[count] = cl;
                prev[count] = count - 1;
                i += cl;
                next[count] = i == n ? -1 : count + 1;
                merged[count] = -1;
                count++;
            }
            for (int i = 1; i < count; i++) {
                tryAddBigram(i - 1, i);
            }
        }

        void tokenize(IntList out) {
            if (text.isEmpty()) {
                return;
            }
            Bigram b;
            while ((b = queue.poll()) != null) {
                int l = b.left;
                int r = b.right;
                if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != b.size) {
                    continue; // stale: one side was merged since
                }
                len[l] += len[r];
                len[r] = 0;
                merged[l] = b.token;
                next[l] = next[r];
                if (next[r] >= 0) {
                    prev[next[r]] = l;
                }
                tryAddBigram(prev[l], l);
                tryAddBigram(l, next[l]);
            }
            for (int i = 0; i != -1; i = next[i]) {
                if (merged[i] >= 0) {
                    out.add(merged[i]);
                    continue;
                }
                String sym = text.substring(start[i], start[i] + len[i]);
                int id = v.ids.get(sym);
                if (id >= 0) {
                    out.add(id);
                } else {
                    for (byte by : sym.getBytes(StandardCharsets.UTF_8)) {
                        out.add(byteToken(by & 0xFF));
                    }
                }
            }
        }

        private void tryAddBigram(int left, int right) {
            if (left == -1 || right == -1) {
                return;
            }
            int size = len[left] + len[right];
            if (size > v.maxTokenChars) {
                return;
            }
            int id = v.ids.get(text.substring(start[left], start[left] + size));
            if (id < 0) {
                return;
            }
            queue.add(new Bigram(left, right, v.scores[id], size, id));
        }
    }

    /** A mergeable pair; higher score first, then the leftmost (llama.cpp's llm_bigram_spm::comparator). */
    private record Bigram(int left, int right, float score, int size, int token) {
        static int compare(Bigram a, Bigram b) {
            if (a.score > b.score) {
                return -1;
            }
            if (a.score < b.score) {
                return 1;
            }
            return Integer.compare(a.left, b.left);
        }
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[capacity];
        }

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
