package dev.flywheel.server.feedback;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.server.serving.Prediction;
import dev.flywheel.server.serving.PredictionService;
import dev.flywheel.server.serving.PredictionStore;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reviews of predictions and the review queue. A prediction moves {@code TO_REVIEW} → {@code REVIEWED} (accepted,
 * corrected with a label, or rejected) and never back; who reviewed and when is kept on it.
 */
public final class ReviewService {

    private static final Logger LOG = LoggerFactory.getLogger(ReviewService.class);

    public static final int MAX_BULK = 1000;
    public static final int MAX_QUEUE = 200;

    private final ReviewStore store;
    private final PredictionService predictions;
    private final DeploymentService deployments;
    private final RegistryService registry;
    private final EventService events;
    private final Clock clock;
    private final Map<String, List<String>> labelsByVersion = new ConcurrentHashMap<>();
    private final List<Consumer<String>> reviewListeners = new CopyOnWriteArrayList<>();

    /**
     * One review in a request.
     *
     * @param predictionId the prediction (in bulk requests)
     * @param action accept, correct or reject
     * @param label the corrected label, for corrections
     */
    public record ReviewRequest(String predictionId, String action, String label) {}

    /**
     * The outcome of one review of a bulk request.
     *
     * @param predictionId the prediction
     * @param outcome {@code reviewed}, or the error code ({@code already_reviewed}, {@code not_found},
     *     {@code invalid_label}, {@code invalid_field})
     * @param message the error, or {@code null}
     */
    public record BulkOutcome(String predictionId, String outcome, String message) {}

    /**
     * The answer to a bulk review.
     *
     * @param reviewed how many reviews were recorded
     * @param failed how many were not
     * @param results one outcome per review, in request order
     */
    public record BulkResult(int reviewed, int failed, List<BulkOutcome> results) {}

    /**
     * Why a prediction is in the queue.
     *
     * @param kind {@code flagged}, {@code disagreement} (the shadow model's label differs from the primary's),
     *     {@code low_confidence}, {@code drift_outlier} (an input far from the reference data) or {@code sampled}
     * @param detail the flag's reason, or the numbers
     */
    public record Reason(String kind, String detail) {}

    /**
     * One entry of the review queue.
     *
     * @param prediction the prediction
     * @param reasons why it is there, most pressing first
     */
    public record QueueItem(Prediction prediction, List<Reason> reasons) {}

    /**
     * The review queue: anomalies first, then a sample of the rest, newest first.
     *
     * @param items the first entries
     * @param anomalies how many anomalies are waiting
     * @param toReview how many predictions are waiting in all (anomalies plus the sample)
     * @param confidenceThreshold the deployment's low-confidence threshold
     * @param sampleRate the share of ordinary predictions that enter the queue
     */
    public record ReviewQueue(List<QueueItem> items, long anomalies, long toReview, double confidenceThreshold,
            double sampleRate) {}

    /**
     * A prediction waiting for review, as much of it as outlier detection reads: its input, from its row when it lives
     * there (else from the blob store). The queue reads hundreds of these per request, so not the whole prediction.
     *
     * @param id the prediction's id
     * @param inputSha256 its input's hash, the blob's name
     * @param inputContentType its input's content type
     * @param inputInline its input, or {@code null}
     */
    public record Candidate(String id, String inputSha256, String inputContentType, byte[] inputInline) {}

    /** Finds drift outliers: inputs far from the deployment's reference data. */
    @FunctionalInterface
    public interface OutlierDetector {
        /**
         * @return for each outlier among the candidates, its prediction id and why (e.g. "feature 2 is 5.3 sd from
         *     the reference mean")
         */
        Map<String, String> outliers(String deploymentId, List<Candidate> candidates);
    }

    /** How many of the newest ordinary predictions are checked for drift outliers on each queue request. */
    static final int OUTLIER_WINDOW = 500;

    private volatile OutlierDetector outliers = (d, c) -> Map.of();

    /** Sets what finds drift outliers (the training capability provides it: it knows the reference data). */
    public void outlierDetector(OutlierDetector detector) {
        this.outliers = detector;
    }

    public ReviewService(ReviewStore store, PredictionService predictions, DeploymentService deployments,
            RegistryService registry, EventService events, Clock clock) {
        this.store = store;
        this.predictions = predictions;
        this.deployments = deployments;
        this.registry = registry;
        this.events = events;
        this.clock = clock;
    }

    /** Runs after every recorded review, with the deployment's id: the feedback loop, triggers and promoters. */
    public void onReviewed(Consumer<String> listener) {
        reviewListeners.add(listener);
    }

    /** Reviews one prediction; a second review of it is a 409. */
    public Prediction review(String predictionId, String action, String label, Principal by) {
        Prediction p = predictions.get(predictionId);
        record(p, action, label, by);
        notifyReviewed(p.deploymentId());
        return predictions.get(predictionId);
    }

    /** Reviews many predictions of one deployment; each succeeds or fails on its own. */
    public BulkResult reviewAll(String deploymentId, List<ReviewRequest> reviews, Principal by) {
        deployments.get(deploymentId);
        if (reviews == null || reviews.isEmpty() || reviews.size() > MAX_BULK) {
            throw ApiException.badRequest("invalid_field", "reviews must hold 1 to " + MAX_BULK + " reviews");
        }
        var results = new ArrayList<BulkOutcome>();
        int ok = 0;
        for (ReviewRequest r : reviews) {
            try {
                if (r == null || r.predictionId() == null) {
                    throw ApiException.badRequest("invalid_field", "prediction_id is required");
                }
                Prediction p = predictions.get(r.predictionId());
                if (!p.deploymentId().equals(deploymentId)) {
                    throw ApiException.notFound("prediction of this deployment", r.predictionId());
                }
                record(p, r.action(), r.label(), by);
                results.add(new BulkOutcome(r.predictionId(), "reviewed", null));
                ok++;
            } catch (ApiException e) {
                results.add(new BulkOutcome(r == null ? null : r.predictionId(), e.code(), e.getMessage()));
            }
        }
        if (ok > 0) {
            events.event("review.bulk", ok + " predictions reviewed in one request" + (ok < reviews.size()
                    ? " (" + (reviews.size() - ok) + " refused)" : "")).actor(by.actor()).deployment(deploymentId)
                    .data(Map.of("reviewed", ok, "refused", reviews.size() - ok)).record();
            notifyReviewed(deploymentId);
        }
        return new BulkResult(ok, reviews.size() - ok, results);
    }

    private void record(Prediction p, String action, String label, Principal by) {
        String groundTruth;
        String recorded = action;
        if ("accept".equals(action)) {
            if (label != null && !label.equals(p.label())) {
                throw ApiException.badRequest("invalid_field", "an accepted prediction keeps its label '" + p.label()
                        + "'; use action \"correct\" to change it");
            }
            groundTruth = p.label();
        } else if ("correct".equals(action)) {
            if (label == null || label.isBlank()) {
                throw ApiException.badRequest("invalid_field", "a correction needs the right label");
            }
            List<String> labels = labels(p);
            if (!labels.contains(label)) {
                throw ApiException.badRequest("invalid_label", "'" + label + "' is not a label of the model; its labels "
                        + "are " + labels);
            }
            groundTruth = label;
            // Correcting to the predicted label is an acceptance; storing it as one keeps the counts honest.
            recorded = label.equals(p.label()) ? "accept" : "correct";
        } else if ("reject".equals(action)) {
            if (label != null) {
                throw ApiException.badRequest("invalid_field", "a rejection takes no label");
            }
            groundTruth = null;
        } else {
            throw ApiException.badRequest("invalid_field", "action must be accept, correct or reject");
        }
        if (!store.review(p.id(), recorded, groundTruth, by.actor(), clock.instant())) {
            Prediction now = predictions.get(p.id());
            String how = now.review() == null ? now.status()
                    : now.review().action() + " by " + now.review().by() + " at " + now.review().at();
            throw new ApiException(409, "already_reviewed", "prediction " + p.id() + " was already reviewed (" + how + ")");
        }
    }

    private List<String> labels(Prediction p) {
        String version = p.modelVersionId() != null ? p.modelVersionId()
                : deployments.get(p.deploymentId()).primaryModelVersionId();
        // Versions are immutable, so their labels can be remembered.
        return labelsByVersion.computeIfAbsent(version, v -> registry.metadataOf(registry.getVersion(v)).labels());
    }

    private void notifyReviewed(String deploymentId) {
        for (Consumer<String> l : reviewListeners) {
            try {
                l.accept(deploymentId);
            } catch (RuntimeException e) {
                // The review is recorded; what reacts to it retries on its own schedule.
                LOG.error("reacting to a review of deployment {} failed", deploymentId, e);
            }
        }
    }

    /** Flags a prediction for review: it goes to the head of the queue. */
    public Prediction flag(String predictionId, String reason, Principal by) {
        Prediction p = predictions.get(predictionId);
        if (reason == null || reason.isBlank() || reason.length() > 500) {
            throw ApiException.badRequest("invalid_field", "reason is required (1 to 500 characters)");
        }
        if (!store.flag(predictionId, reason.trim(), by.actor(), clock.instant())) {
            throw new ApiException(409, "already_reviewed", "prediction " + predictionId + " is already reviewed; "
                    + "only predictions still to review can be flagged");
        }
        events.event("prediction.flagged", "prediction " + predictionId + " flagged: " + reason.trim())
                .actor(by.actor()).deployment(p.deploymentId()).subject("prediction", predictionId).record();
        return predictions.get(predictionId);
    }

    /**
     * The first entries of a deployment's review queue, in this order: flagged by a person; then the predictions on
     * which the shadow model disagreed with the primary, newest first (one of the two is wrong, and the review
     * decides which, which is exactly the evidence a promotion needs); then the least confident; then the newest of
     * the rest.
     */
    public ReviewQueue queue(String deploymentId, int limit) {
        Deployment d = deployments.get(deploymentId);
        if (limit < 1 || limit > MAX_QUEUE) {
            throw ApiException.badRequest("invalid_parameter", "limit must be from 1 to " + MAX_QUEUE);
        }
        double threshold = d.settings().reviewConfidenceThreshold();
        int buckets = (int) Math.round(d.settings().reviewSampleRate() * PredictionStore.REVIEW_BUCKETS);
        var items = new ArrayList<QueueItem>();
        for (Prediction p : store.flagged(deploymentId, limit)) {
            var reasons = new ArrayList<Reason>();
            reasons.add(new Reason("flagged", p.flag().reason()));
            if (p.shadow() != null && p.shadow().disagreesWith(p.label())) {
                reasons.add(disagreement(p));
            }
            if (p.confidence() < threshold) {
                reasons.add(lowConfidence(p, threshold));
            }
            items.add(new QueueItem(p, reasons));
        }
        if (items.size() < limit) {
            for (Prediction p : store.disagreements(deploymentId, limit - items.size())) {
                var reasons = new ArrayList<Reason>();
                reasons.add(disagreement(p));
                if (p.confidence() < threshold) {
                    reasons.add(lowConfidence(p, threshold));
                }
                items.add(new QueueItem(p, reasons));
            }
        }
        if (items.size() < limit) {
            for (Prediction p : store.lowConfidence(deploymentId, threshold, limit - items.size())) {
                items.add(new QueueItem(p, List.of(lowConfidence(p, threshold))));
            }
        }
        // Drift outliers are looked for among the newest ordinary predictions, sampled or not: an input far from the
        // reference data is worth a look whatever the sample rate.
        var seen = new java.util.HashSet<String>();
        items.forEach(i -> seen.add(i.prediction().id()));
        List<Candidate> recent = store.recentOrdinary(deploymentId, threshold, OUTLIER_WINDOW).stream()
                .filter(c -> !seen.contains(c.id())).toList();
        Map<String, String> found = recent.isEmpty() ? Map.of() : outliers.outliers(deploymentId, recent);
        for (Candidate c : recent) {
            String why = found.get(c.id());
            if (why != null && items.size() < limit) {
                // Read whole only now: few of the candidates are outliers.
                store.find(c.id()).ifPresent(p -> {
                    items.add(new QueueItem(p, List.of(new Reason("drift_outlier", why))));
                    seen.add(p.id());
                });
            }
        }
        if (items.size() < limit) {
            String detail = d.settings().reviewSampleRate() >= 1 ? "all traffic is reviewed"
                    : "in the " + percent(d.settings().reviewSampleRate()) + " sample of traffic";
            for (Prediction p : store.sampled(deploymentId, threshold, buckets, limit - items.size() + found.size())) {
                if (items.size() < limit && !seen.contains(p.id())) {
                    items.add(new QueueItem(p, List.of(new Reason("sampled", detail))));
                }
            }
        }
        ReviewStore.WaitingCounts waiting = store.waiting(deploymentId, threshold, buckets);
        long anomalies = waiting.anomalies() + found.size();
        long sampledOutliers = recent.stream().filter(c -> found.containsKey(c.id())
                && PredictionStore.reviewBucket(c.id()) < buckets).count();
        return new ReviewQueue(items, anomalies, anomalies + waiting.sampled() - sampledOutliers, threshold,
                d.settings().reviewSampleRate());
    }

    private static Reason disagreement(Prediction p) {
        return new Reason("disagreement", String.format(java.util.Locale.ROOT,
                "the shadow (version %s) predicted '%s' (%.3f), the primary '%s' (%.3f)", p.shadow().modelVersionId(),
                p.shadow().label(), p.shadow().confidence(), p.label(), p.confidence()));
    }

    private static Reason lowConfidence(Prediction p, double threshold) {
        return new Reason("low_confidence", String.format(java.util.Locale.ROOT, "confidence %.3f is below %.3f",
                p.confidence(), threshold));
    }

    private static String percent(double rate) {
        return String.format(java.util.Locale.ROOT, "%.1f%%", rate * 100);
    }

    /** Accepted or corrected reviews of a deployment since a time (what review-count triggers read). */
    public long reviewedSince(String deploymentId, Instant since) {
        return store.reviewedSince(deploymentId, since);
    }
}
