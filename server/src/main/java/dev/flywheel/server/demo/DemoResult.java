package dev.flywheel.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * How one world's demo story ended, with the numbers the server gave.
 *
 * @param world {@code features} or {@code images}
 * @param name the name of the demo's model, deployment and datasets
 * @param deploymentId the deployment
 * @param untrainedVersionId the untrained first version (architecture only), or {@code null}
 * @param initialRunName the training run that trained it, or {@code null}
 * @param initialTrainItems the samples of the original world that run trained on
 * @param initialValAccuracy that run's validation accuracy on held-out samples of the original world
 * @param oldVersionId the version that run made: the primary when the loop started, or {@code null}
 * @param oldVersionNumber its number within the model, or 0
 * @param newVersionId the version the loop's training run made, or {@code null}
 * @param newVersionNumber its number within the model, or 0
 * @param promoted whether the new version became the primary
 * @param before the deployment's accuracy on the drifted world while the old version answered
 * @param beforeSamples how many drifted predictions the old version answered
 * @param after its accuracy on the drifted world once the new version answered
 * @param afterSamples how many drifted predictions the new version answered
 * @param originalAccuracy the old version's accuracy on the original world
 * @param reviewed reviews the simulated reviewer recorded
 * @param reviewerMistakes reviews in which it picked a wrong label on purpose
 * @param duration how long the story took
 * @param initialEventTypes the deployment's events while its first version was made, oldest first
 * @param eventTypes the deployment's events of the loop, oldest first
 * @param promotion the loop's {@code deployment.promoted} event, or {@code null}
 * @param failure why the loop did not close, or {@code null}
 */
public record DemoResult(String world, String name, String deploymentId, String untrainedVersionId,
        String initialRunName, long initialTrainItems, double initialValAccuracy, String oldVersionId,
        int oldVersionNumber, String newVersionId, int newVersionNumber, boolean promoted, double before,
        long beforeSamples, double after, long afterSamples, double originalAccuracy, long reviewed,
        long reviewerMistakes, Duration duration, List<String> initialEventTypes, List<String> eventTypes,
        JsonNode promotion, String failure) {

    /** The demo's promise: a version was promoted, and it is more accurate on the drifted world. */
    public boolean success() {
        return failure == null && promoted && afterSamples > 0 && after > before;
    }

    /** The closing lines of this world's story. */
    String summary(String uiBase) {
        var sb = new StringBuilder();
        String took = duration.toMinutes() + " min " + duration.toSecondsPart() + " s";
        if (success()) {
            sb.append("==== ").append(world).append(": the loop closed on its own in ").append(took).append(" ====\n");
        } else {
            sb.append("==== ").append(world).append(": the loop did not close (").append(took).append(") ====\n");
            sb.append("  why: ").append(failure != null ? failure : !promoted ? "no version was promoted"
                    : "the promoted version is not more accurate on the drifted world").append('\n');
        }
        if (oldVersionId != null) {
            sb.append(String.format(Locale.ROOT, "  version %d: trained by the built-in trainer (run %s) on %d samples "
                    + "of the original world, validation accuracy %s; version 1 was untrained%n", oldVersionNumber,
                    initialRunName, initialTrainItems, num(initialValAccuracy)));
        }
        if (promoted && promotion != null) {
            JsonNode c = promotion.at("/data/comparison");
            sb.append(String.format(Locale.ROOT, "  promoted: version %d replaced version %d (%s) on %d paired reviewed "
                            + "predictions: primary %s, shadow %s, McNemar p=%s%n", newVersionNumber, oldVersionNumber,
                    promotion.path("actor").asText(), c.path("n").asLong(), num(c.path("primary_accuracy")),
                    num(c.path("shadow_accuracy")), num(c.path("p_value"))));
        }
        sb.append(String.format(Locale.ROOT, "  accuracy on the drifted world: %s → %s   (as the deployment answered: "
                        + "version %d on %d drifted inputs, version %s on %d after the promotion)%n", num(before),
                afterSamples == 0 ? "-" : num(after), oldVersionNumber, beforeSamples,
                newVersionNumber == 0 ? "-" : newVersionNumber, afterSamples));
        sb.append(String.format(Locale.ROOT, "  version %d on the original world: %s; reviews: %d, of which %d wrong on "
                + "purpose%n", oldVersionNumber, num(originalAccuracy), reviewed, reviewerMistakes));
        sb.append("  the same story in the UI: ").append(uiBase).append("#/deployments/").append(deploymentId);
        return sb.toString();
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String num(JsonNode n) {
        if (n == null || n.isMissingNode() || n.isNull()) {
            return "-";
        }
        double v = n.asDouble();
        return v > 0 && v < 0.001 ? String.format(Locale.ROOT, "%.1e", v) : String.format(Locale.ROOT, "%.3f", v);
    }
}
