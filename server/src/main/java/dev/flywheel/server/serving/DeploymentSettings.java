package dev.flywheel.server.serving;

import dev.flywheel.server.http.ApiException;
import java.util.List;
import java.util.Map;

/**
 * A deployment's settings.
 *
 * @param captureMode {@code durable}: a prediction is answered once its row is committed (the default);
 *     {@code async}: it is answered at once and its row is written moments later, so a crash (not a graceful stop)
 *     can lose the last few
 */
public record DeploymentSettings(String captureMode) {

    public static final String DURABLE = "durable";
    public static final String ASYNC = "async";
    public static final DeploymentSettings DEFAULT = new DeploymentSettings(DURABLE);

    private static final List<String> FIELDS = List.of("capture_mode");

    /** Whether predictions are answered only once logged. */
    public boolean durable() {
        return !ASYNC.equals(captureMode);
    }

    /**
     * Reads settings from a request or the database.
     *
     * @throws ApiException 400 naming the setting that is wrong
     */
    public static DeploymentSettings from(Map<String, Object> raw) {
        if (raw == null || raw.isEmpty()) {
            return DEFAULT;
        }
        for (String key : raw.keySet()) {
            if (!FIELDS.contains(key)) {
                throw ApiException.badRequest("invalid_field", "settings." + key + " is not a deployment setting; "
                        + "known settings: " + String.join(", ", FIELDS));
            }
        }
        Object mode = raw.getOrDefault("capture_mode", DURABLE);
        if (!DURABLE.equals(mode) && !ASYNC.equals(mode)) {
            throw ApiException.badRequest("invalid_field", "settings.capture_mode must be \"durable\" or \"async\"");
        }
        return new DeploymentSettings((String) mode);
    }

    /** The settings as stored and shown. */
    public Map<String, Object> toMap() {
        return Map.of("capture_mode", captureMode);
    }
}
