package dev.flywheel.plugins.trigger.drift;

import java.util.Arrays;

/**
 * The two-sample Kolmogorov–Smirnov test: the largest distance {@code D} between the empirical distribution
 * functions of two samples, and its asymptotic p-value from the Kolmogorov distribution with Stephens'
 * small-sample correction (as in Numerical Recipes, {@code kstwo}).
 *
 * <p>The asymptotic p-value is accurate within a few percent once both samples have a few dozen items,
 * which the trigger's {@code min_window} guarantees; with ties (discrete features) the test is conservative,
 * so it errs towards not firing.
 */
public final class KolmogorovSmirnov {

    private KolmogorovSmirnov() {}

    /**
     * The statistic and its p-value.
     *
     * @param statistic {@code D}, in {@code [0, 1]}
     * @param pValue the probability of a {@code D} at least this large when both samples come from the same
     *     continuous distribution
     */
    public record Result(double statistic, double pValue) {}

    /** Tests whether two samples come from the same distribution; both must be non-empty. */
    public static Result test(double[] first, double[] second) {
        double d = statistic(first, second);
        return new Result(d, pValue(d, first.length, second.length));
    }

    /** {@code D = sup_x |F1(x) - F2(x)|} of the two empirical distribution functions. */
    public static double statistic(double[] first, double[] second) {
        if (first.length == 0 || second.length == 0) {
            throw new IllegalArgumentException("both samples must be non-empty");
        }
        double[] a = first.clone();
        double[] b = second.clone();
        Arrays.sort(a);
        Arrays.sort(b);
        int i = 0;
        int j = 0;
        double d = 0;
        while (i < a.length && j < b.length) {
            // Step over every copy of the smallest remaining value on both sides before comparing, so ties
            // across the samples do not create a spurious gap.
            double x = Math.min(a[i], b[j]);
            while (i < a.length && a[i] == x) {
                i++;
            }
            while (j < b.length && b[j] == x) {
                j++;
            }
            d = Math.max(d, Math.abs((double) i / a.length - (double) j / b.length));
        }
        return d;
    }

    /** The asymptotic p-value of {@code D} for samples of sizes {@code n} and {@code m}. */
    public static double pValue(double d, int n, int m) {
        double en = Math.sqrt((double) n * m / (n + m));
        return kolmogorovSurvival((en + 0.12 + 0.11 / en) * d);
    }

    /**
     * {@code Q(lambda) = P(K > lambda) = 2 * sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2)} for the Kolmogorov
     * distribution {@code K}.
     */
    public static double kolmogorovSurvival(double lambda) {
        if (lambda <= 0) {
            return 1.0;
        }
        if (lambda < 1.18) {
            // The alternating series converges slowly for small lambda; the Jacobi theta form of the CDF,
            // P(K <= x) = sqrt(2 pi)/x * sum_{j>=1} exp(-(2j-1)^2 pi^2 / (8 x^2)), converges fast there.
            double y = Math.exp(-Math.PI * Math.PI / (8 * lambda * lambda));
            double cdf = Math.sqrt(2 * Math.PI) / lambda * (y + Math.pow(y, 9) + Math.pow(y, 25) + Math.pow(y, 49));
            return clamp(1 - cdf);
        }
        double sum = 0;
        double sign = 1;
        for (int j = 1; j <= 100; j++) {
            double term = Math.exp(-2.0 * j * j * lambda * lambda);
            sum += sign * term;
            if (term < 1e-17 * sum) {
                break;
            }
            sign = -sign;
        }
        return clamp(2 * sum);
    }

    private static double clamp(double p) {
        return Math.min(1.0, Math.max(0.0, p));
    }
}
