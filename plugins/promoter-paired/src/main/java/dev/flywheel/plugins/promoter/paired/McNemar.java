package dev.flywheel.plugins.promoter.paired;

/**
 * McNemar's exact test for paired binary outcomes: of the pairs where the two models disagree on
 * correctness ({@code b} only the primary right, {@code c} only the shadow right), a shadow no better than the
 * primary wins each with probability 1/2. The two-sided p-value is {@code min(1, 2 * P(X <= min(b, c)))} with
 * {@code X ~ Binomial(b + c, 1/2)}.
 *
 * <p>Pairs where both models agree carry no information about which one is better, which is why the test
 * needs far fewer samples than comparing two independent accuracies.
 */
public final class McNemar {

    private static final double LN2 = Math.log(2);

    private McNemar() {}

    /** The exact two-sided p-value; 1 when there are no discordant pairs. */
    public static double exactPValue(long b, long c) {
        if (b < 0 || c < 0) {
            throw new IllegalArgumentException("counts must be >= 0, not b=" + b + ", c=" + c);
        }
        long n = b + c;
        // With k = min(b, c) >= (n - 1) / 2 the lower tail holds at least half the mass (exactly half for odd
        // n), so p = 1 exactly; summing would only add rounding error (0.99999999999999).
        if (2 * Math.min(b, c) + 1 >= n) {
            return 1.0;
        }
        return Math.min(1.0, 2 * Math.exp(logBinomialLowerTail(n, Math.min(b, c))));
    }

    /**
     * {@code ln P(X <= k)} for {@code X ~ Binomial(n, 1/2)}, exact up to rounding for any {@code n}: the sum
     * {@code sum_{i<=k} C(n,i)} is taken relative to its largest term {@code C(n,k)} (for {@code k <= n/2}) so
     * nothing overflows, and it stops once terms no longer change the sum.
     */
    static double logBinomialLowerTail(long n, long k) {
        if (k >= n) {
            return 0.0;
        }
        double sum = 1.0;
        double term = 1.0;
        for (long i = k; i > 0; i--) {
            // C(n, i-1) / C(n, i) = i / (n - i + 1)
            term *= (double) i / (n - i + 1);
            sum += term;
            if (term < 1e-17 * sum) {
                break;
            }
        }
        return LogGamma.logBinomial(n, k) - n * LN2 + Math.log(sum);
    }
}
