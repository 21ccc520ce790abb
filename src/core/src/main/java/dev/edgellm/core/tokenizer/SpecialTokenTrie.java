package dev.edgellm.core.tokenizer;

import java.util.Arrays;

/**
 * A character trie over the texts of the special-token candidates, used only to find out which
 * candidates occur anywhere in a text before running llama.cpp's (ordered, one token at a time)
 * partition on just those. Transitions live in one open-addressing table of primitive arrays so
 * a vocabulary with thousands of special tokens costs a few hundred kilobytes, not megabytes.
 */
final class SpecialTokenTrie {
    private long[] keys; // (node << 16 | char) + 1; 0 = empty slot
    private int[] children;
    private int size;
    private int[] terminal = new int[64]; // node -> candidate index, -1 if none
    private int nodes = 1;

    SpecialTokenTrie(String[] texts) {
        int capacity = Integer.highestOneBit(Math.max(16, texts.length * 16)) * 2;
        keys = new long[capacity];
        children = new int[capacity];
        Arrays.fill(terminal, -1);
        for (int c = 0; c < texts.length; c++) {
            int node = 0;
            String t = texts[c];
            for (int i = 0; i < t.length(); i++) {
                int child = child(node, t.charAt(i));
                if (child < 0) {
                    child = addNode();
                    put(node, t.charAt(i), child);
                }
                node = child;
            }
            terminal[node] = c;
        }
    }

    /** Marks in {@code found} every candidate index whose text occurs in {@code text}; returns how many. */
    int findOccurring(String text, boolean[] found) {
        int count = 0;
        int n = text.length();
        for (int start = 0; start < n; start++) {
            int node = 0;
            for (int i = start; i < n; i++) {
                node = child(node, text.charAt(i));
                if (node < 0) {
                    break;
                }
                int c = terminal[node];
                if (c >= 0 && !found[c]) {
                    found[c] = true;
                    count++;
                }
            }
        }
        return count;
    }

    private int addNode() {
        if (nodes == terminal.length) {
            int old = terminal.length;
            terminal = Arrays.copyOf(terminal, old * 2);
            Arrays.fill(terminal, old, terminal.length, -1);
        }
        return nodes++;
    }

    private static long key(int node, char c) {
        return (((long) node << 16) | c) + 1;
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    private int child(int node, char c) {
        long k = key(node, c);
        int mask = keys.length - 1;
        for (int s = slot(k, mask); ; s = (s + 1) & mask) {
            long e = keys[s];
            if (e == k) {
                return children[s];
            }
            if (e == 0) {
                return -1;
            }
        }
    }

    private void put(int node, char c, int child) {
        if ((size + 1) * 2 > keys.length) {
            rehash();
        }
        long k = key(node, c);
        int mask = keys.length - 1;
        int s = slot(k, mask);
        while (keys[s] != 0) {
            s = (s + 1) & mask;
        }
        keys[s] = k;
        children[s] = child;
        size++;
    }

    private void rehash() {
        long[] oldKeys = keys;
        int[] oldChildren = children;
        keys = new long[oldKeys.length * 2];
        children = new int[oldKeys.length * 2];
        int mask = keys.length - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != 0) {
                int s = slot(oldKeys[i], mask);
                while (keys[s] != 0) {
                    s = (s + 1) & mask;
                }
                keys[s] = oldKeys[i];
                children[s] = oldChildren[i];
            }
        }
    }
}
