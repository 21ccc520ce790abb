package dev.edgellm.core.eval;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Statistics of a model's next-token distributions against a base model's, position by position,
 * as {@code llama-perplexity --kl-divergence} computes them: the KL divergence
 * {@code sum_i p_base(i) (log p_base(i) - log p(i))} over the tokens whose base log-probability is
 * above -16, the perplexities of both, the change in the probability of the actual next token, and
 * how often both put the same token on top.
 */
public final class KlDivergence {
    private double sumNll;
    private double sumNll2;
    private double sumNllBase;
    private double sumNllBase2;
    private double sumNllNllBase;
    private double sumKld;
    private double sumKld2;
    private double sumPDiff;
    private double sumPDiff2;
    private double sumPDiff4;
    private float maxPDiff;
    private long sameTop;
    private int count;
    private final float[] kld;
    private final float[] pDiff;

    KlDivergence(int capacity) {
        this.kld = new float[capacity];
        this.pDiff = new float[capacity];
    }

    /** One position (llama-perplexity's log_softmax with base log-probabilities, float for float). */
    void add(float[] logits, int vocab, ByteBuffer base, int at, int tok) {
        float maxLogit = logits[0];
        int imax = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[i] > maxLogit) {
                maxLogit = logits[i];
                imax = i;
            }
        }
        double sumExp = 0;
        for (int i = 0; i < vocab; i++) {
            sumExp += (float) Math.exp(logits[i] - maxLogit);
        }
        float logSumExp = (float) Math.log(sumExp);
        float scale = base.getFloat(at);
        float minLogProb = base.getFloat(at + 4);
        int q = at + 8;

        float nll = maxLogit + logSumExp - logits[tok];
        sumNll += nll;
        sumNll2 += nll * nll;
        float nllBase = -(scale * (base.getShort(q + 2 * tok) & 0xFFFF) + minLogProb);
        sumNllBase += nllBase;
        sumNllBase2 += nllBase * nllBase;
        sumNllNllBase += nll * nllBase;

        maxLogit += logSumExp;
        double sum = 0;
        int imaxBase = -1;
        float pLogBaseMax = 0;
        for (int i = 0; i < vocab; i++) {
            float pLogBase = scale * (base.getShort(q + 2 * i) & 0xFFFF) + minLogProb;
            if (i == 0 || pLogBase > pLogBaseMax) {
                pLogBaseMax = pLogBase;
                imaxBase = i;
            }
            if (pLogBase > -16f) {
                float pBase = (float) Math.exp(pLogBase);
                sum += pBase * (pLogBase - logits[i] + maxLogit);
            }
        }
        sumKld += sum;
        sumKld2 += sum * sum;
        if (imax == imaxBase) {
            sameTop++;
        }
        float pBase = (float) Math.exp(-nllBase);
        float p = (float) Math.exp(-nll);
        float d = p - pBase;
        sumPDiff += d;
        double d2 = (double) d * d;
        sumPDiff2 += d2;
        sumPDiff4 += d2 * d2;
        maxPDiff = Math.max(maxPDiff, Math.abs(d));
        kld[count] = (float) sum;
        pDiff[count] = d;
        count++;
    }

    /** Scored positions. */
    public int count() {
        return count;
    }

    /** Mean and its standard error (llama-perplexity's mean_and_uncertainty). */
    private static double[] meanAndError(double sum, double sum2, long n) {
        if (n < 1) {
            return new double[] {0, 0};
        }
        double f = sum / n;
        double df = sum2 / n - f * f;
        df = df > 0 && n > 10 ? Math.sqrt(df / (n - 1)) : 0;
        return new double[] {f, df};
    }

    public double meanKld() {
        return meanAndError(sumKld, sumKld2, count)[0];
    }

    public double meanKldError() {
        return meanAndError(sumKld, sumKld2, count)[1];
    }

    public double ppl() {
        return Math.exp(meanAndError(sumNll, sumNll2, count)[0]);
    }

    public double pplError() {
        double[] m = meanAndError(sumNll, sumNll2, count);
        return Math.exp(m[0]) * m[1];
    }

    public double basePpl() {
        return Math.exp(meanAndError(sumNllBase, sumNllBase2, count)[0]);
    }

    public double basePplError() {
        double[] m = meanAndError(sumNllBase, sumNllBase2, count);
        return Math.exp(m[0]) * m[1];
    }

    private double covariance() {
        if (count < 10) {
            return 0;
        }
        double v = sumNllNllBase / count - (sumNll / count) * (sumNllBase / count);
        return v / (count - 1);
    }

    /** Mean of ln(PPL(Q)/PPL(base)) and its error. */
    public double[] logPplRatio() {
        double[] a = meanAndError(sumNll, sumNll2, count);
        double[] b = meanAndError(sumNllBase, sumNllBase2, count);
        double r = a[0] - b[0];
        double e = Math.sqrt(Math.max(0, a[1] * a[1] + b[1] * b[1] - 2 * covariance()));
        return new double[] {r, e};
    }

    /** Fraction of positions where both models rank the same token first. */
    public double sameTop() {
        return count == 0 ? 0 : (double) sameTop / count;
    }

    public double sameTopError() {
        double p = sameTop();
        return count > 1 ? Math.sqrt(p * (1 - p) / (count - 1)) : 0;
    }

    public double rmsPDiff() {
        return Math.sqrt(meanAndError(sumPDiff2, sumPDiff4, count)[0]);
    }

    /** The KL divergence below which a fraction of positions lie (linear interpolation, as llama-perplexity). */
    public double kldPercentile(double fraction) {
        return percentile(sorted(kld), fraction);
    }

    public double kldMedian() {
        return median(sorted(kld));
    }

    public double kldMax() {
        float[] s = sorted(kld);
        return s.length == 0 ? 0 : s[s.length - 1];
    }

    public double kldMin() {
        float[] s = sorted(kld);
        return s.length == 0 ? 0 : s[0];
    }

    public double pDiffMean() {
        return meanAndError(sumPDiff, sumPDiff2, count)[0];
    }

    /** The largest change in the next token's probability (signed, as llama-perplexity prints it). */
    public double pDiffMax() {
        float[] s = sorted(pDiff);
        return s.length == 0 ? 0 : s[s.length - 1];
    }

    /** The largest change in magnitude. */
    public double pDiffMaxAbs() {
        return maxPDiff;
    }

    private float[] sorted(float[] v) {
        float[] s = Arrays.copyOf(v, count);
        Arrays.sort(s);
        return s;
    }

    static double median(float[] s) {
        if (s.length == 0) {
            return 0;
        }
        return s.length % 2 == 0 ? 0.5f * (s[s.length / 2] + s[s.length / 2 - 1]) : s[s.length / 2];
    }

    static double percentile(float[] s, double fraction) {
        if (s.length == 0) {
            return 0;
        }
        if (fraction <= 0) {
            return s[0];
        }
        if (fraction >= 1) {
            return s[s.length - 1];
        }
        float p = (float) (fraction * (s.length - 1));
        int ip = (int) p;
        p -= ip;
        return (1 - p) * s[ip] + p * s[Math.min(ip + 1, s.length - 1)];
    }

    /** llama-perplexity's closing statistics, as text. */
    public String report() {
        StringBuilder sb = new StringBuilder();
        java.util.Locale l = java.util.Locale.ROOT;
        sb.append("====== Perplexity statistics ======\n");
        sb.append(String.format(l, "Mean PPL(Q)                   : %10.6f ± %10.6f%n", ppl(), pplError()));
        sb.append(String.format(l, "Mean PPL(base)                : %10.6f ± %10.6f%n", basePpl(), basePplError()));
        double[] a = meanAndError(sumNll, sumNll2, count);
        double[] b = meanAndError(sumNllBase, sumNllBase2, count);
        double cor = a[1] * b[1] > 0 ? covariance() / (a[1] * b[1]) : 0;
        sb.append(String.format(l, "Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%%n", 100 * cor));
        double[] r = logPplRatio();
        sb.append(String.format(l, "Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f%n", r[0], r[1]));
        sb.append(String.format(l, "Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f%n", Math.exp(r[0]), Math.exp(r[0]) * r[1]));
        sb.append('\n');
        sb.append("====== KL divergence statistics ======\n");
        sb.append(String.format(l, "Mean    KLD: %10.6f ± %10.6f%n", meanKld(), meanKldError()));
        sb.append(String.format(l, "Maximum KLD: %10.6f%n", kldMax()));
        sb.append(String.format(l, "99.9%%   KLD: %10.6f%n", kldPercentile(0.999)));
        sb.append(String.format(l, "99.0%%   KLD: %10.6f%n", kldPercentile(0.990)));
        sb.append(String.format(l, "95.0%%   KLD: %10.6f%n", kldPercentile(0.950)));
        sb.append(String.format(l, "90.0%%   KLD: %10.6f%n", kldPercentile(0.900)));
        sb.append(String.format(l, "Median  KLD: %10.6f%n", kldMedian()));
        sb.append(String.format(l, "10.0%%   KLD: %10.6f%n", kldPercentile(0.100)));
        sb.append(String.format(l, "Minimum KLD: %10.6f%n", kldMin()));
        sb.append('\n');
        sb.append("====== Token probability statistics ======\n");
        sb.append(String.format(l, "Mean    Δp: %6.3f %%%n", 100 * pDiffMean()));
        sb.append(String.format(l, "Maximum Δp: %6.3f%%%n", 100 * pDiffMax()));
        sb.append(String.format(l, "RMS Δp    : %6.3f %%%n", 100 * rmsPDiff()));
        sb.append(String.format(l, "Same top p: %6.3f ± %5.3f %%%n", 100 * sameTop(), 100 * sameTopError()));
        return sb.toString();
    }
}
