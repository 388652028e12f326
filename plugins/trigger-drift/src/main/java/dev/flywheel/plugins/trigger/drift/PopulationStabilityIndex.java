package dev.flywheel.plugins.trigger.drift;

import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The population stability index, {@code PSI = sum_i (a_i - e_i) * ln(a_i / e_i)} over the bins of a
 * reference ("expected", {@code e}) and a current ("actual", {@code a}) distribution.
 *
 * <p>Conventional reading: below 0.1 no shift, 0.1 to 0.25 a moderate shift, above 0.25 a significant one.
 * Proportions of zero are replaced by {@link #EPSILON}: a bin empty on one side would otherwise make the
 * index infinite, and one stray item in a new bin should raise it, not make it meaningless.
 */
public final class PopulationStabilityIndex {

    /** The proportion an empty bin counts as. */
    public static final double EPSILON = 1e-4;

    private PopulationStabilityIndex() {}

    /**
     * The PSI of two distributions over the same bins.
     *
     * @param expected the reference proportions (or counts; each side is normalised to sum 1)
     * @param actual the current proportions or counts, in the same bin order
     * @return the index, {@code >= 0}
     */
    public static double of(double[] expected, double[] actual) {
        double[] contributions = contributions(expected, actual);
        double sum = 0;
        for (double c : contributions) {
            sum += c;
        }
        return sum;
    }

    /**
     * Each bin's term of the sum, so a caller can say which bin moved the most. Every term is {@code >= 0}
     * because {@code a - e} and {@code ln(a / e)} always have the same sign.
     */
    public static double[] contributions(double[] expected, double[] actual) {
        if (expected.length != actual.length) {
            throw new IllegalArgumentException("bins differ: " + expected.length + " vs " + actual.length);
        }
        double[] e = normalise(expected);
        double[] a = normalise(actual);
        double[] terms = new double[e.length];
        for (int i = 0; i < e.length; i++) {
            double ei = Math.max(e[i], EPSILON);
            double ai = Math.max(a[i], EPSILON);
            terms[i] = (ai - ei) * Math.log(ai / ei);
        }
        return terms;
    }

    /**
     * The PSI of two categorical samples, such as predicted labels; a category seen on one side only is a
     * bin of its own.
     */
    public static Categorical ofCategories(Collection<String> reference, Collection<String> current) {
        var referenceCounts = new LinkedHashMap<String, Integer>();
        var currentCounts = new LinkedHashMap<String, Integer>();
        reference.forEach(label -> referenceCounts.merge(label, 1, Integer::sum));
        current.forEach(label -> currentCounts.merge(label, 1, Integer::sum));
        var categories = new LinkedHashMap<String, Integer>();
        referenceCounts.keySet().forEach(c -> categories.putIfAbsent(c, categories.size()));
        currentCounts.keySet().forEach(c -> categories.putIfAbsent(c, categories.size()));
        double[] e = new double[categories.size()];
        double[] a = new double[categories.size()];
        categories.forEach((c, i) -> {
            e[i] = referenceCounts.getOrDefault(c, 0);
            a[i] = currentCounts.getOrDefault(c, 0);
        });
        double[] terms = contributions(e, a);
        double psi = 0;
        String top = null;
        double topTerm = -1;
        for (var entry : categories.entrySet()) {
            double t = terms[entry.getValue()];
            psi += t;
            if (t > topTerm) {
                topTerm = t;
                top = entry.getKey();
            }
        }
        double[] eShare = normalise(e);
        double[] aShare = normalise(a);
        var referenceShare = new LinkedHashMap<String, Double>();
        var currentShare = new LinkedHashMap<String, Double>();
        categories.forEach((c, i) -> {
            referenceShare.put(c, eShare[i]);
            currentShare.put(c, aShare[i]);
        });
        return new Categorical(psi, top, referenceShare, currentShare);
    }

    /**
     * The PSI of a numeric feature, binned at the reference's quantiles so that each bin holds about the same
     * share of the reference.
     *
     * @param reference the reference values
     * @param current the current values
     * @param bins the number of quantile bins wanted; fewer result when the reference has ties at the cuts
     */
    public static double ofContinuous(double[] reference, double[] current, int bins) {
        double[] cuts = QuantileBins.cuts(reference, bins);
        return of(QuantileBins.counts(reference, cuts), QuantileBins.counts(current, cuts));
    }

    private static double[] normalise(double[] values) {
        double total = Arrays.stream(values).sum();
        double[] out = new double[values.length];
        if (total <= 0) {
            return out;
        }
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i] / total;
        }
        return out;
    }

    /**
     * The PSI of two categorical samples with the category that contributed most and both distributions.
     *
     * @param psi the index
     * @param mostShifted the category with the largest term, or {@code null} for two empty samples
     * @param referenceShare each category's share of the reference
     * @param currentShare each category's share of the current sample
     */
    public record Categorical(
            double psi, String mostShifted, Map<String, Double> referenceShare, Map<String, Double> currentShare) {}
}
