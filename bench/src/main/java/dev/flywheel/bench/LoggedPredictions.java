package dev.flywheel.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The predictions the {@code review-queue} benchmark logs, as a pure function of their number: the same number
 * always gives the same label, confidence and flag, so the benchmark knows without asking the server how many
 * anomalies (below the confidence threshold, or flagged) it has logged, and can check the queue's counts.
 *
 * @param labels the model's labels; predictions cycle through them
 * @param threshold the deployment's {@code review_confidence_threshold}
 * @param lowShare the share of predictions below the threshold
 * @param flagEvery one prediction in this many is flagged by a person
 */
record LoggedPredictions(List<String> labels, double threshold, double lowShare, int flagEvery) {

    /** The lowest confidence of a low-confidence prediction: a little above chance for the labels. */
    static final double LOWEST = 0.34;
    /** The highest confidence of any prediction. */
    static final double HIGHEST = 0.99;

    LoggedPredictions {
        labels = List.copyOf(labels);
        if (labels.size() < 2 || !(threshold > LOWEST && threshold < HIGHEST) || !(lowShare >= 0 && lowShare <= 1)
                || flagEvery < 1) {
            throw new IllegalArgumentException("needs 2+ labels, a threshold in (" + LOWEST + ", " + HIGHEST
                    + "), a share in [0, 1] and flagEvery >= 1");
        }
    }

    /**
     * One logged prediction.
     *
     * @param label the predicted label
     * @param confidence its probability
     * @param scores every label's probability, summing to 1
     * @param flagged whether it is flagged for review after it is logged
     */
    record Entry(String label, double confidence, Map<String, Double> scores, boolean flagged) {

        /** Whether the review queue counts it as an anomaly (while it waits for review). */
        boolean anomaly(double threshold) {
            return flagged || confidence < threshold;
        }
    }

    /** The {@code n}-th prediction, from 0. */
    Entry entry(long n) {
        // Seeded by the number alone, so that threads logging in any order log the same set.
        var random = new SplittableRandom(n * 0x9E3779B97F4A7C15L);
        String label = labels.get((int) (n % labels.size()));
        double u = random.nextDouble();
        double confidence = u < lowShare
                ? LOWEST + random.nextDouble() * (threshold - LOWEST)
                : threshold + random.nextDouble() * (HIGHEST - threshold);
        // On a 0.0001 grid so that the JSON is short; never rounded up to the threshold itself.
        confidence = Math.floor(confidence * 10_000) / 10_000;
        if (u >= lowShare && confidence < threshold) {
            confidence = threshold;
        }
        Map<String, Double> scores = new LinkedHashMap<>();
        double rest = (1 - confidence) / (labels.size() - 1);
        for (String l : labels) {
            scores.put(l, l.equals(label) ? confidence : rest);
        }
        return new Entry(label, confidence, scores, n % flagEvery == flagEvery / 2);
    }

    /** The body of {@code POST /api/deployments/{d}/predictions} for the {@code n}-th prediction. */
    String json(long n, float[] features, String modelVersionId) {
        Entry e = entry(n);
        var sb = new StringBuilder(256).append("{\"input\":").append(FeatureInputs.json(features))
                .append(",\"label\":\"").append(e.label()).append("\",\"confidence\":")
                .append(String.format(Locale.ROOT, "%.4f", e.confidence())).append(",\"scores\":{");
        boolean first = true;
        for (var s : e.scores().entrySet()) {
            sb.append(first ? "" : ",").append('"').append(s.getKey()).append("\":")
                    .append(String.format(Locale.ROOT, "%.6f", s.getValue()));
            first = false;
        }
        sb.append("},\"model_version_id\":\"").append(modelVersionId).append("\",\"latency_ms\":1.5}");
        return sb.toString();
    }
}
