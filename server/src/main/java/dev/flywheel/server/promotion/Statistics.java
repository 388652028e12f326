package dev.flywheel.server.promotion;

/**
 * The small statistics the live comparison and the bake watch use: the Wilson score interval of an accuracy,
 * McNemar's exact test on paired results, and a one-sided test that one accuracy is lower than another by more than a
 * tolerance. The server computes them itself so that the comparison does not depend on which promoter
 * plugin is installed (the core never loads plugin classes).
 */
public final class Statistics {

    /** z for a two-sided 95% interval. */
    public static final double Z95 = 1.959963984540054;

    private Statistics() {}

    /**
     * The Wilson score interval of a proportion: better than the normal approximation for small samples and for
     * proportions near 0 or 1, and never outside 0..1.
     *
     * @return {@code {low, high}}, or {@code null} when {@code n} is 0
     */
    public static double[] wilson(long successes, long n, double z) {
        if (n <= 0) {
            return null;
        }
        double p = (double) successes / n;
        double z2 = z * z;
        double denominator = 1 + z2 / n;
        double centre = (p + z2 / (2.0 * n)) / denominator;
        double half = z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denominator;
        return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
    }

    /**
     * McNemar's exact two-sided p-value for paired results: of the {@code b + c} pairs where exactly one model was
     * right, could a split this uneven come from a fair coin? {@code p = min(1, 2 P(X <= min(b, c)))} with
     * {@code X ~ Binomial(b + c, 1/2)}, summed in log space so it stays exact for millions of pairs; 1 when
     * {@code b + c = 0}.
     */
    public static double mcNemarExactP(long b, long c) {
        if (b < 0 || c < 0) {
            throw new IllegalArgumentException("counts must not be negative");
        }
        long n = b + c;
        if (n == 0) {
            return 1.0;
        }
        long k = Math.min(b, c);
        double logHalfN = n * Math.log(0.5);
        double logNFactorial = logGamma(n + 1.0);
        // Sum the tail terms relative to the largest (the last), to avoid underflow.
        double[] logs = new double[(int) Math.min(k + 1, Integer.MAX_VALUE - 8)];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logs.length; i++) {
            logs[i] = logNFactorial - logGamma(i + 1.0) - logGamma(n - i + 1.0) + logHalfN;
            max = Math.max(max, logs[i]);
        }
        double sum = 0;
        for (double l : logs) {
            sum += Math.exp(l - max);
        }
        double tail = Math.exp(max + Math.log(sum));
        return Math.min(1.0, 2 * tail);
    }

    /**
     * The one-sided p-value that accuracy {@code a} (of {@code na} reviews) is more than {@code tolerance} below
     * accuracy {@code b} (of {@code nb}, other inputs): the normal approximation to the difference of two independent
     * proportions, with unpooled variance. Small p: the drop is beyond the tolerance and not chance.
     */
    public static double dropBeyondToleranceP(long correctA, long na, long correctB, long nb, double tolerance) {
        if (na <= 0 || nb <= 0) {
            return 1.0;
        }
        double pa = (double) correctA / na;
        double pb = (double) correctB / nb;
        double excess = (pb - pa) - tolerance;
        double se = Math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb);
        if (se == 0) {
            return excess > 0 ? 0.0 : 1.0;
        }
        return upperNormalTail(excess / se);
    }

    /** P(Z > z) for a standard normal Z, to about 1e-7 relative (Numerical Recipes' Chebyshev fit of erfc). */
    static double upperNormalTail(double z) {
        return 0.5 * erfc(z / Math.sqrt(2));
    }

    private static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }

    /** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error below 1e-13). */
    static double logGamma(double x) {
        if (x < 0.5) {
            // Reflection keeps the approximation in its accurate range.
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        double[] g = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7};
        double y = x - 1;
        double a = g[0];
        double t = y + 7.5;
        for (int i = 1; i < 9; i++) {
            a += g[i] / (y + i);
        }
        return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
    }
}
