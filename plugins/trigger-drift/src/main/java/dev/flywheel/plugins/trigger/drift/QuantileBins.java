package dev.flywheel.plugins.trigger.drift;

import java.util.Arrays;

/**
 * Equal-frequency bins cut at a reference sample's quantiles. Bin {@code i} holds the values in
 * {@code (cut[i-1], cut[i]]}, with the first and last bins open-ended, so that values equal to a cut fall
 * on the same side in both samples.
 */
public final class QuantileBins {

    private QuantileBins() {}

    /**
     * The inner cut points for about {@code bins} bins, without duplicates: a discrete feature with many
     * ties gets fewer bins rather than empty ones.
     */
    public static double[] cuts(double[] reference, int bins) {
        if (bins < 2) {
            throw new IllegalArgumentException("need at least 2 bins, not " + bins);
        }
        if (reference.length == 0) {
            return new double[0];
        }
        double[] sorted = reference.clone();
        Arrays.sort(sorted);
        return Arrays.stream(java.util.stream.IntStream.range(1, bins)
                        .mapToDouble(k -> sorted[(int) Math.ceil((double) k * sorted.length / bins) - 1])
                        .toArray())
                .distinct()
                // A cut at the maximum would leave the last bin empty for the reference by construction.
                .filter(c -> c < sorted[sorted.length - 1])
                .toArray();
    }

    /** How many values fall into each of the {@code cuts.length + 1} bins. */
    public static double[] counts(double[] values, double[] cuts) {
        double[] counts = new double[cuts.length + 1];
        for (double v : values) {
            counts[binOf(v, cuts)]++;
        }
        return counts;
    }

    private static int binOf(double value, double[] cuts) {
        // The number of cuts strictly below the value: values equal to a cut go into the bin it closes.
        int lo = 0;
        int hi = cuts.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cuts[mid] < value) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
