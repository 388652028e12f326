package dev.flywheel.server.shadow;

import dev.flywheel.server.serving.Prediction;

/**
 * The shadow model's answer for one prediction, on its way to the prediction's row.
 *
 * @param predictionId the prediction
 * @param deploymentId its deployment (for metrics)
 * @param primaryLabel the primary's label, to count agreement
 * @param shadow the shadow's part of the row
 * @param madeAtNanos {@link System#nanoTime()} when it was made, to give up on a row that never appears
 */
public record ShadowResult(String predictionId, String deploymentId, String primaryLabel, Prediction.Shadow shadow,
        long madeAtNanos) {}
