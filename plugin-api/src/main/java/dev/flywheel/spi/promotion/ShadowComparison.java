package dev.flywheel.spi.promotion;

import java.time.Duration;

/**
 * Primary and shadow compared on the same traffic since the shadow was set.
 *
 * @param primaryVersionId the primary model version
 * @param shadowVersionId the shadow model version
 * @param shadowAge how long the shadow has been under evaluation
 * @param samplesCompared predictions that both models made
 * @param agreements of those, how many had the same label
 * @param pairedReviewed predictions both models made that a person has since reviewed (accepted or corrected)
 * @param bothCorrect paired reviewed predictions both got right
 * @param primaryOnlyCorrect paired reviewed predictions only the primary got right (McNemar's b)
 * @param shadowOnlyCorrect paired reviewed predictions only the shadow got right (McNemar's c)
 * @param bothWrong paired reviewed predictions both got wrong
 * @param shadowRequests inputs queued to the shadow
 * @param shadowErrors shadow predictions that failed
 * @param shadowSkips inputs the shadow skipped because its queue was full (a skipped input that a person reviews is
 *     run later by the server, so that it still becomes evidence; see {@code reviewedAwaitingShadow})
 * @param primaryLatencyP95Millis the primary's 95th percentile latency as served (wall clock of the request, at normal
 *     priority). Not comparable with the shadow's: use {@link #latencyProbe()} for a latency guardrail
 * @param shadowLatencyP95Millis the shadow's 95th percentile latency as it ran beside the primary, at the lowest CPU
 *     priority: on a busy machine it measures the machine's load more than the model
 * @param latencyProbe both models' forward passes timed back to back on the same inputs: the like-for-like latency
 *     comparison; {@link LatencyProbe#NONE} until the server has measured one
 * @param reviewedAwaitingShadow predictions a person has reviewed (accepted or corrected) whose shadow result is not
 *     there yet because the shadow skipped them under load; the server is running the shadow on them, after which
 *     they count in {@code pairedReviewed}
 */
public record ShadowComparison(
        String primaryVersionId,
        String shadowVersionId,
        Duration shadowAge,
        long samplesCompared,
        long agreements,
        long pairedReviewed,
        long bothCorrect,
        long primaryOnlyCorrect,
        long shadowOnlyCorrect,
        long bothWrong,
        long shadowRequests,
        long shadowErrors,
        long shadowSkips,
        double primaryLatencyP95Millis,
        double shadowLatencyP95Millis,
        LatencyProbe latencyProbe,
        long reviewedAwaitingShadow) {

    public ShadowComparison {
        latencyProbe = latencyProbe == null ? LatencyProbe.NONE : latencyProbe;
    }

    /**
     * A comparison without a latency probe, as servers before SPI 0.2.0 made them; kept so that code written against
     * that constructor still compiles and links.
     */
    public ShadowComparison(String primaryVersionId, String shadowVersionId, Duration shadowAge, long samplesCompared,
            long agreements, long pairedReviewed, long bothCorrect, long primaryOnlyCorrect, long shadowOnlyCorrect,
            long bothWrong, long shadowRequests, long shadowErrors, long shadowSkips, double primaryLatencyP95Millis,
            double shadowLatencyP95Millis) {
        this(primaryVersionId, shadowVersionId, shadowAge, samplesCompared, agreements, pairedReviewed, bothCorrect,
                primaryOnlyCorrect, shadowOnlyCorrect, bothWrong, shadowRequests, shadowErrors, shadowSkips,
                primaryLatencyP95Millis, shadowLatencyP95Millis, LatencyProbe.NONE, 0);
    }

    /** The primary's accuracy on paired reviewed predictions, or NaN without any. */
    public double primaryAccuracy() {
        return pairedReviewed == 0 ? Double.NaN : (double) (bothCorrect + primaryOnlyCorrect) / pairedReviewed;
    }

    /** The shadow's accuracy on paired reviewed predictions, or NaN without any. */
    public double shadowAccuracy() {
        return pairedReviewed == 0 ? Double.NaN : (double) (bothCorrect + shadowOnlyCorrect) / pairedReviewed;
    }
}
