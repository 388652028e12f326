package dev.flywheel.server.training;

import java.util.Map;

/**
 * One configured retraining trigger.
 *
 * @param type the trigger extension's type, such as {@code review-threshold}, {@code drift}, {@code schedule}
 * @param config its settings, validated against the extension's schema (defaults filled in)
 */
public record TriggerSpec(String type, Map<String, Object> config) {}
