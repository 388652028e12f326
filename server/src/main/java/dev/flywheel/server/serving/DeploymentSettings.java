package dev.flywheel.server.serving;

import dev.flywheel.server.http.ApiException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deployment's settings.
 *
 * @param captureMode {@code durable}: a prediction is answered once its row is committed (the default);
 *     {@code async}: it is answered at once and its row is written moments later, so a crash (not a graceful stop)
 *     can lose the last few
 * @param reviewConfidenceThreshold predictions less confident than this are anomalies: they lead the review queue
 * @param reviewSampleRate the share of ordinary (not anomalous) predictions that enter the review queue, so that a
 *     high-traffic deployment's queue stays reviewable; anomalies always enter
 * @param shadowSampleRate the share of served predictions whose input is also run by the shadow model, if one is
 *     set (above 0 to 1; default 1: all of them)
 */
public record DeploymentSettings(String captureMode, double reviewConfidenceThreshold, double reviewSampleRate,
        double shadowSampleRate) {

    public static final String DURABLE = "durable";
    public static final String ASYNC = "async";
    public static final DeploymentSettings DEFAULT = new DeploymentSettings(DURABLE, 0.6, 1.0, 1.0);

    private static final List<String> FIELDS = List.of("capture_mode", "review_confidence_threshold",
            "review_sample_rate", "shadow_sample_rate");

    /** Whether predictions are answered only once logged. */
    public boolean durable() {
        return !ASYNC.equals(captureMode);
    }

    /**
     * Reads settings from a request or the database; missing settings keep their defaults.
     *
     * @throws ApiException 400 naming the setting that is wrong
     */
    public static DeploymentSettings from(Map<String, Object> raw) {
        return DEFAULT.with(raw);
    }

    /**
     * These settings with some replaced.
     *
     * @throws ApiException 400 naming the setting that is wrong
     */
    public DeploymentSettings with(Map<String, Object> changes) {
        if (changes == null || changes.isEmpty()) {
            return this;
        }
        for (String key : changes.keySet()) {
            if (!FIELDS.contains(key)) {
                throw ApiException.badRequest("invalid_field", "settings." + key + " is not a deployment setting; "
                        + "known settings: " + String.join(", ", FIELDS));
            }
        }
        Object mode = changes.getOrDefault("capture_mode", captureMode);
        if (!DURABLE.equals(mode) && !ASYNC.equals(mode)) {
            throw ApiException.badRequest("invalid_field", "settings.capture_mode must be \"durable\" or \"async\"");
        }
        double threshold = fraction(changes, "review_confidence_threshold", reviewConfidenceThreshold, true);
        double rate = fraction(changes, "review_sample_rate", reviewSampleRate, false);
        double shadowRate = fraction(changes, "shadow_sample_rate", shadowSampleRate, false);
        return new DeploymentSettings((String) mode, threshold, rate, shadowRate);
    }

    private static double fraction(Map<String, Object> changes, String key, double current, boolean zeroAllowed) {
        Object v = changes.get(key);
        if (v == null) {
            return current;
        }
        if (!(v instanceof Number n) || !(n.doubleValue() >= 0 && n.doubleValue() <= 1)
                || (!zeroAllowed && n.doubleValue() == 0)) {
            throw ApiException.badRequest("invalid_field", "settings." + key + " must be a number "
                    + (zeroAllowed ? "from 0" : "above 0") + " to 1");
        }
        return n.doubleValue();
    }

    /** The settings as stored and shown. */
    public Map<String, Object> toMap() {
        var m = new LinkedHashMap<String, Object>();
        m.put("capture_mode", captureMode);
        m.put("review_confidence_threshold", reviewConfidenceThreshold);
        m.put("review_sample_rate", reviewSampleRate);
        m.put("shadow_sample_rate", shadowSampleRate);
        return m;
    }
}
