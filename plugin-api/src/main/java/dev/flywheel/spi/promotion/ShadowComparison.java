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
 * @param shadowSkips inputs the shadow skipped because its queue was full
 * @param primaryLatencyP95Millis the primary's 95th percentile latency
 * @param shadowLatencyP95Millis the shadow's 95th percentile latency
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
        double shadowLatencyP95Millis) {

    /** The primary's accuracy on paired reviewed predictions, or NaN without any. */
    public double primaryAccuracy() {
        return pairedReviewed == 0 ? Double.NaN : (double) (bothCorrect + primaryOnlyCorrect) / pairedReviewed;
    }

    /** The shadow's accuracy on paired reviewed predictions, or NaN without any. */
    public double shadowAccuracy() {
        return pairedReviewed == 0 ? Double.NaN : (double) (bothCorrect + shadowOnlyCorrect) / pairedReviewed;
    }
}
