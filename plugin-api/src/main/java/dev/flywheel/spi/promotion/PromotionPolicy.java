package dev.flywheel.spi.promotion;

/** Decides, from the evidence gathered so far, whether the shadow should replace the primary. */
public interface PromotionPolicy {

    /**
     * Decides. Called periodically and after reviews while a shadow is under evaluation.
     *
     * @param comparison what is known about primary and shadow on the same inputs
     * @return the verdict with the numbers that justify it
     */
    PromotionDecision decide(ShadowComparison comparison);
}
