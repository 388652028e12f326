package dev.flywheel.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * How a demo run ended, with the numbers the server gave.
 *
 * @param name the name of the demo's model, deployment and dataset
 * @param deploymentId the deployment
 * @param oldVersionId version 1, the primary the story began with
 * @param newVersionId the version the training run made, or {@code null}
 * @param newVersionNumber its number within the model, or 0
 * @param promoted whether the new version became the primary
 * @param before the deployment's accuracy on the drifted world while version 1 answered
 * @param beforeSamples how many drifted predictions version 1 answered
 * @param after its accuracy on the drifted world once the new version answered
 * @param afterSamples how many drifted predictions the new version answered
 * @param originalAccuracy version 1's accuracy on the original world
 * @param reviewed reviews the simulated reviewer recorded
 * @param reviewerMistakes reviews in which it picked a wrong label on purpose
 * @param duration how long the story took
 * @param eventTypes the deployment's events, oldest first
 * @param promotion the {@code deployment.promoted} event, or {@code null}
 * @param failure why the loop did not close, or {@code null}
 */
public record DemoResult(String name, String deploymentId, String oldVersionId, String newVersionId,
        int newVersionNumber, boolean promoted, double before, long beforeSamples, double after, long afterSamples,
        double originalAccuracy, long reviewed, long reviewerMistakes, Duration duration, List<String> eventTypes,
        JsonNode promotion, String failure) {

    /** The demo's promise: a version was promoted, and it is more accurate on the drifted world. */
    public boolean success() {
        return failure == null && promoted && afterSamples > 0 && after > before;
    }

    /** The closing lines of the demo's output. */
    String summary(String uiBase) {
        var sb = new StringBuilder();
        String took = duration.toMinutes() + " min " + duration.toSecondsPart() + " s";
        if (success()) {
            sb.append("==== the loop closed on its own in ").append(took).append(" ====\n");
        } else {
            sb.append("==== the loop did not close (").append(took).append(") ====\n");
            sb.append("  why: ").append(failure != null ? failure : !promoted ? "no version was promoted"
                    : "the promoted version is not more accurate on the drifted world").append('\n');
        }
        if (promoted && promotion != null) {
            JsonNode c = promotion.at("/data/comparison");
            sb.append(String.format(Locale.ROOT, "  promoted: version %d replaced version 1 (%s) on %d paired reviewed "
                            + "predictions: primary %s, shadow %s, McNemar p=%s%n", newVersionNumber,
                    promotion.path("actor").asText(), c.path("n").asLong(), num(c.path("primary_accuracy")),
                    num(c.path("shadow_accuracy")), num(c.path("p_value"))));
        }
        sb.append(String.format(Locale.ROOT, "  accuracy on the drifted world: %s → %s   (as the deployment answered: "
                        + "version 1 on %d drifted inputs, version %s on %d after the promotion)%n", num(before),
                afterSamples == 0 ? "-" : num(after), beforeSamples, newVersionNumber == 0 ? "-" : newVersionNumber,
                afterSamples));
        sb.append(String.format(Locale.ROOT, "  version 1 on the original world: %s; reviews: %d, of which %d wrong on "
                + "purpose%n", num(originalAccuracy), reviewed, reviewerMistakes));
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
