package dev.flywheel.spi.promotion;

/**
 * The primary's and the shadow's forward-pass times measured like for like: the server runs both models back to back
 * on the same stored inputs, on one thread at normal priority, alternating which goes first, and times each pass.
 *
 * <p>This is what a latency guardrail should compare. The latencies recorded while serving are not comparable: the
 * primary answers at normal priority, while the shadow waits in its queue and runs at the lowest CPU priority so that
 * it never slows the primary, so on a busy machine its wall-clock time measures the machine's load, not the model.
 * Both passes of a pair share whatever load the machine has at that moment, so their ratio is about the models.
 *
 * @param pairs how many inputs both models were timed on; 0 when none were yet
 * @param primaryMedianMillis the median of the primary's pass times, or NaN without pairs
 * @param shadowMedianMillis the median of the shadow's pass times, or NaN without pairs
 * @param medianRatio the median over the pairs of shadow time / primary time, or NaN without pairs
 * @param ratioCi95Low the lower bound of a distribution-free 95% confidence interval of that median (order
 *     statistics), or NaN when there are too few pairs for one
 * @param ratioCi95High its upper bound, or NaN
 */
public record LatencyProbe(int pairs, double primaryMedianMillis, double shadowMedianMillis, double medianRatio,
        double ratioCi95Low, double ratioCi95High) {

    /** No measurement yet. */
    public static final LatencyProbe NONE = new LatencyProbe(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN);

    public LatencyProbe {
        if (pairs < 0) {
            throw new IllegalArgumentException("pairs must be >= 0, not " + pairs);
        }
    }
}
