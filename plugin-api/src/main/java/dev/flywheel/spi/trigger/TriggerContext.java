package dev.flywheel.spi.trigger;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What a trigger may know about a deployment. It is a read-only view computed by the server; a trigger never
 * reaches the database.
 */
public interface TriggerContext {

    /** The deployment being evaluated. */
    String deploymentId();

    /** The time of this evaluation. */
    Instant now();

    /** When the last training run of this deployment was created, if there was one. */
    Optional<Instant> lastRunAt();

    /** When this trigger was last evaluated, if it was. */
    Optional<Instant> lastEvaluatedAt();

    /** Reviewed (accepted or corrected) predictions since the last training run, or since the start. */
    long reviewedSinceLastRun();

    /**
     * The reference sample drift is measured against: the deployment's reference dataset version, or without
     * one the first traffic of the current primary. Empty when there is not yet enough of either.
     *
     * @param maxSize the most items to return
     */
    default Optional<Sample> referenceSample(int maxSize) {
        return Optional.empty();
    }

    /**
     * The most recent traffic of the deployment, newest first.
     *
     * @param maxSize the most items to return
     */
    default Sample recentSample(int maxSize) {
        return new Sample(List.of(), List.of(), List.of());
    }

    /**
     * Observations of traffic or data, aligned by index.
     *
     * @param labels the predicted (or, for a dataset, the ground-truth) label of each item
     * @param features each item's feature vector, or for images simple per-channel statistics (mean and
     *     standard deviation of each channel); empty when not available
     * @param times when each item was observed; empty for a dataset
     */
    record Sample(List<String> labels, List<double[]> features, List<Instant> times) {
        public Sample {
            labels = List.copyOf(labels);
            features = List.copyOf(features);
            times = List.copyOf(times);
        }

        /** The number of items. */
        public int size() {
            return labels.size();
        }
    }
}
