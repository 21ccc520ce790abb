package dev.edgellm.core.tokenizer;

/**
 * A port of GNU libstdc++'s {@code std::sort} (introsort: median-of-three quicksort down to
 * 16-element runs, heapsort past the depth limit, final insertion sort) for an {@code int[]} with a
 * "less than" predicate.
 *
 * <p>It exists for one reason: llama.cpp orders its special-token cache with {@code std::sort},
 * which is not stable, by text length alone. Among special tokens of equal length the order that
 * results is whatever libstdc++ produces, and that order decides which token wins when two of them
 * could match overlapping text. Reproducing it element for element keeps tokenization identical to
 * llama.cpp built with GCC (the usual Linux build). libc++ and MSVC order ties differently.
 */
final class StdSort {
    /** libstdc++ {@code _S_threshold}. */
    private static final int THRESHOLD = 16;

    @FunctionalInterface
    interface IntLess {
        boolean less(int a, int b);
    }

    private StdSort() {}

    static void sort(int[] a, IntLess comp) {
        int n = a.length;
        if (n == 0) {
            return;
        }
        introsortLoop(a, 0, n, 2 * lg(n), comp);
        finalInsertionSort(a, 0, n, comp);
    }

    /**
     * {@code std::partial_sort(first, last, last)}: the heapsort that {@code std::sort} falls back to
     * past its depth limit, exposed so it can be checked against libstdc++ on its own.
     */
    static void heapSort(int[] a, IntLess comp) {
        partialSort(a, 0, a.length, comp);
    }

    /** {@code std::__lg}: floor(log2(n)) for n > 0. */
    private static int lg(int n) {
        return 31 - Integer.numberOfLeadingZeros(n);
    }

    private static void introsortLoop(int[] a, int first, int last, int depthLimit, IntLess comp) {
        while (last - first > THRESHOLD) {
            if (depthLimit == 0) {
                partialSort(a, first, last, comp);
                return;
            }
            --depthLimit;
            int cut = unguardedPartitionPivot(a, first, last, comp);
            introsortLoop(a, cut, last, depthLimit, comp);
            last = cut;
        }
    }

    private static int unguardedPartitionPivot(int[] a, int first, int last, IntLess comp) {
        int mid = first + (last - first) / 2;
        moveMedianToFirst(a, first, first + 1, mid, last - 1, comp);
        return unguardedPartition(a, first + 1, last, first, comp);
    }

    private static void moveMedianToFirst(int[] a, int result, int x, int y, int z, IntLess comp) {
        if (comp.less(a[x], a[y])) {
            if (comp.less(a[y], a[z])) {
                swap(a, result, y);
            } else if (comp.less(a[x], a[z])) {
                swap(a, result, z);
            } else {
                swap(a, result, x);
            }
        } else if (comp.less(a[x], a[z])) {
            swap(a, result, x);
        } else if (comp.less(a[y], a[z])) {
            swap(a, result, z);
        } else {
            swap(a, result, y);
        }
    }

    private static int unguardedPartition(int[] a, int first, int last, int pivot, IntLess comp) {
        while (true) {
            while (comp.less(a[first], a[pivot])) {
                ++first;
            }
            --last;
            while (comp.less(a[pivot], a[last])) {
                --last;
            }
            if (!(first < last)) {
                return first;
            }
            swap(a, first, last);
            ++first;
        }
    }

    private static void finalInsertionSort(int[] a, int first, int last, IntLess comp) {
        if (last - first > THRESHOLD) {
            insertionSort(a, first, first + THRESHOLD, comp);
            for (int i = first + THRESHOLD; i != last; ++i) {
                unguardedLinearInsert(a, i, comp);
            }
        } else {
            insertionSort(a, first, last, comp);
        }
    }

    private static void insertionSort(int[] a, int first, int last, IntLess comp) {
        if (first == last) {
            return;
        }
        for (int i = first + 1; i != last; ++i) {
            if (comp.less(a[i], a[first])) {
                int val = a[i];
                System.arraycopy(a, first, a, first + 1, i - first);
                a[first] = val;
            } else {
                unguardedLinearInsert(a, i, comp);
            }
        }
    }

    private static void unguardedLinearInsert(int[] a, int last, IntLess comp) {
        int val = a[last];
        int next = last - 1;
        while (comp.less(val, a[next])) {
            a[last] = a[next];
            last = next;
            --next;
        }
        a[last] = val;
    }

    /** {@code std::__partial_sort(first, last, last)}: heap select (a plain make_heap here) then sort_heap. */
    private static void partialSort(int[] a, int first, int last, IntLess comp) {
        makeHeap(a, first, last, comp);
        while (last - first > 1) {
            --last;
            // __pop_heap(first, last, last)
            int value = a[last];
            a[last] = a[first];
            adjustHeap(a, first, 0, last - first, value, comp);
        }
    }

    private static void makeHeap(int[] a, int first, int last, IntLess comp) {
        int len = last - first;
        if (len < 2) {
            return;
        }
        int parent = (len - 2) / 2;
        while (true) {
            int value = a[first + parent];
            adjustHeap(a, first, parent, len, value, comp);
            if (parent == 0) {
                return;
            }
            parent--;
        }
    }

    private static void adjustHeap(int[] a, int first, int holeIndex, int len, int value, IntLess comp) {
        int topIndex = holeIndex;
        int secondChild = holeIndex;
        while (secondChild < (len - 1) / 2) {
            secondChild = 2 * (secondChild + 1);
            if (comp.less(a[first + secondChild], a[first + secondChild - 1])) {
                secondChild--;
            }
            a[first + holeIndex] = a[first + secondChild];
            holeIndex = secondChild;
        }
        if ((len & 1) == 0 && secondChild == (len - 2) / 2) {
            secondChild = 2 * (secondChild + 1);
            a[first + holeIndex] = a[first + secondChild - 1];
            holeIndex = secondChild - 1;
        }
        // __push_heap
        int parent = (holeIndex - 1) / 2;
        while (holeIndex > topIndex && comp.less(a[first + parent], value)) {
            a[first + holeIndex] = a[first + parent];
            holeIndex = parent;
            parent = (holeIndex - 1) / 2;
        }
        a[first + holeIndex] = value;
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
