package dev.flywheel.server.events;

import java.time.Instant;

/**
 * Which events to list; {@code null} fields do not filter.
 *
 * @param deploymentId only this deployment's
 * @param typePrefix only types starting with this, such as {@code training.} or {@code plugin.failed}
 * @param subjectId only about this thing
 * @param severity only of this severity
 * @param since only at or after this time
 */
public record EventFilter(String deploymentId, String typePrefix, String subjectId, String severity, Instant since) {
    public static final EventFilter ALL = new EventFilter(null, null, null, null, null);
}
