package dev.flywheel.server.serving;

import java.time.Instant;
import java.util.Map;

/**
 * One logged prediction.
 *
 * @param id its id
 * @param deploymentId the deployment it was made for
 * @param modelVersionId the version that made it, or {@code null} for a logged prediction that did not say
 * @param source {@code served} (made by this server) or {@code logged} (made elsewhere and logged here)
 * @param status {@code TO_REVIEW}, then {@code REVIEWED}, then {@code SUBMITTED}
 * @param label the predicted label
 * @param confidence that label's probability
 * @param scores every label's probability
 * @param latencyMs how long the model took (decoding the input and the forward pass), or {@code null}
 * @param inputContentType the stored input's media type
 * @param inputSha256 the stored input's blob address
 * @param inputSize the stored input's size in bytes
 * @param createdAt when it was made
 * @param review how a person reviewed it, or {@code null} while it is to be reviewed
 * @param flag why someone flagged it for review, or {@code null}
 * @param submittedAt when it reached the feedback loop's dataset versions, or {@code null}
 * @param inputInline the input itself when it is small enough to live in the row (only set on the way in), else
 *     {@code null}: the input is then in the blob store
 * @param shadow what the deployment's shadow model made of the same input, or {@code null} when no shadow ran
 */
public record Prediction(
        String id,
        String deploymentId,
        String modelVersionId,
        String source,
        String status,
        String label,
        double confidence,
        Map<String, Double> scores,
        Double latencyMs,
        String inputContentType,
        String inputSha256,
        long inputSize,
        Instant createdAt,
        Review review,
        Flag flag,
        Instant submittedAt,
        Shadow shadow,
        @com.fasterxml.jackson.annotation.JsonIgnore byte[] inputInline) {

    /** A new, unreviewed prediction. */
    public Prediction(String id, String deploymentId, String modelVersionId, String source, String label,
            double confidence, Map<String, Double> scores, Double latencyMs, String inputContentType,
            String inputSha256, long inputSize, Instant createdAt) {
        this(id, deploymentId, modelVersionId, source, TO_REVIEW, label, confidence, scores, latencyMs,
                inputContentType, inputSha256, inputSize, createdAt, null, null, null, null, null);
    }

    /** A new, unreviewed prediction whose input is kept in its row (small inputs; see {@link PredictionService}). */
    public Prediction withInlineInput(byte[] input) {
        return new Prediction(id, deploymentId, modelVersionId, source, status, label, confidence, scores, latencyMs,
                inputContentType, inputSha256, inputSize, createdAt, review, flag, submittedAt, shadow, input);
    }

    /** This prediction with the shadow's part replaced. */
    public Prediction withShadow(Shadow value) {
        return new Prediction(id, deploymentId, modelVersionId, source, status, label, confidence, scores, latencyMs,
                inputContentType, inputSha256, inputSize, createdAt, review, flag, submittedAt, value, inputInline);
    }

    /**
     * The shadow model's run on a prediction's input.
     *
     * @param modelVersionId the shadow version it was queued to
     * @param status {@code pending} (queued, no result stored yet), {@code ok}, {@code error} or {@code skipped}
     *     (the shadow's queue was full)
     * @param label the shadow's label, when ok
     * @param confidence its probability, when ok
     * @param scores every label's probability, when ok
     * @param latencyMs how long the shadow's pass took (wall clock; beside the primary it runs at the lowest CPU
     *     priority, so on a busy machine this includes the time it waited for a CPU), when it ran
     * @param error why it failed or was skipped
     * @param waitMs how long the input waited in the shadow's queue before its pass started, when it ran beside the
     *     primary; {@code null} otherwise
     * @param backfilled whether the result was made later from the stored input (a skipped input that a person
     *     reviewed) rather than beside the primary
     */
    public record Shadow(String modelVersionId, String status, String label, Double confidence,
            Map<String, Double> scores, Double latencyMs, String error, Double waitMs, boolean backfilled) {

        /** A result made beside the primary, before its queue wait is known. */
        public Shadow(String modelVersionId, String status, String label, Double confidence, Map<String, Double> scores,
                Double latencyMs, String error) {
            this(modelVersionId, status, label, confidence, scores, latencyMs, error, null, false);
        }

        /** This result, with how long its input waited in the queue. */
        public Shadow withWait(double millis) {
            return new Shadow(modelVersionId, status, label, confidence, scores, latencyMs, error, millis, backfilled);
        }

        /** This result, marked as made by the backfill. */
        public Shadow asBackfilled() {
            return new Shadow(modelVersionId, status, label, confidence, scores, latencyMs, error, null, true);
        }

        public static final String PENDING = "pending";
        public static final String OK = "ok";
        public static final String ERROR = "error";
        public static final String SKIPPED = "skipped";

        /** Whether the shadow answered and its label differs from the primary's. */
        public boolean disagreesWith(String primaryLabel) {
            return OK.equals(status) && label != null && !label.equals(primaryLabel);
        }
    }

    /**
     * A person's review.
     *
     * @param action {@code accept}, {@code correct} or {@code reject}
     * @param label the ground truth: the predicted label when accepted, the corrected one when corrected, null when
     *     rejected
     * @param by who reviewed
     * @param at when
     */
    public record Review(String action, String label, String by, Instant at) {}

    /**
     * A request to review a prediction first.
     *
     * @param reason why
     * @param by who flagged it
     * @param at when
     */
    public record Flag(String reason, String by, Instant at) {}

    public static final String REVIEWED = "REVIEWED";
    public static final String SUBMITTED = "SUBMITTED";

    public static final String SERVED = "served";
    public static final String LOGGED = "logged";
    public static final String TO_REVIEW = "TO_REVIEW";
    public static final java.util.List<String> STATUSES = java.util.List.of(TO_REVIEW, REVIEWED, SUBMITTED);
}
