package dev.flywheel.plugins.promoter.paired;

/**
 * The natural logarithm of the gamma function, for binomial coefficients too large for doubles: {@code 10000!}
 * overflows, its logarithm does not.
 */
public final class LogGamma {

    // Lanczos approximation, g = 7, n = 9 (Numerical Recipes 3rd ed.; Godfrey's coefficients): relative
    // error below 1e-15 for x >= 0.5.
    private static final double G = 7;
    private static final double[] COEFFICIENTS = {
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7
    };
    private static final double HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

    private LogGamma() {}

    /** {@code ln Gamma(x)} for {@code x > 0}. */
    public static double of(double x) {
        if (!(x > 0)) {
            throw new IllegalArgumentException("log-gamma needs x > 0, not " + x);
        }
        if (x < 0.5) {
            // Reflection keeps the approximation in the range where it is accurate.
            return Math.log(Math.PI / Math.sin(Math.PI * x)) - of(1 - x);
        }
        double y = x - 1;
        double sum = COEFFICIENTS[0];
        for (int i = 1; i < COEFFICIENTS.length; i++) {
            sum += COEFFICIENTS[i] / (y + i);
        }
        double t = y + G + 0.5;
        return HALF_LOG_TWO_PI + (y + 0.5) * Math.log(t) - t + Math.log(sum);
    }

    /** {@code ln C(n, k)}, the logarithm of the binomial coefficient. */
    public static double logBinomial(long n, long k) {
        if (k < 0 || k > n) {
            throw new IllegalArgumentException("need 0 <= k <= n, not k=" + k + ", n=" + n);
        }
        return of(n + 1.0) - of(k + 1.0) - of(n - k + 1.0);
    }
}
