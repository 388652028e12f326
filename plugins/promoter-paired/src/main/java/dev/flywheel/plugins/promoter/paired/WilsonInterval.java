package dev.flywheel.plugins.promoter.paired;

/**
 * The Wilson score interval for a proportion: unlike the normal ("Wald") interval it stays inside [0, 1]
 * and keeps its coverage near 0 and 1, where good models' accuracies live.
 *
 * @param lower the lower bound
 * @param upper the upper bound
 */
public record WilsonInterval(double lower, double upper) {

    /** The two-sided 95% normal quantile. */
    public static final double Z95 = 1.959963984540054;

    /** The 95% interval of {@code successes} out of {@code n}; {@code n} must be positive. */
    public static WilsonInterval of95(long successes, long n) {
        return of(successes, n, Z95);
    }

    /** The interval of {@code successes} out of {@code n} for the normal quantile {@code z}. */
    public static WilsonInterval of(long successes, long n, double z) {
        if (n <= 0 || successes < 0 || successes > n) {
            throw new IllegalArgumentException("need 0 <= successes <= n and n > 0, not " + successes + " of " + n);
        }
        double p = (double) successes / n;
        double z2 = z * z;
        double denominator = 1 + z2 / n;
        double centre = (p + z2 / (2.0 * n)) / denominator;
        double half = z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denominator;
        return new WilsonInterval(Math.max(0, centre - half), Math.min(1, centre + half));
    }
}
