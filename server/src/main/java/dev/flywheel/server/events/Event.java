package dev.flywheel.server.events;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;
import java.util.Map;

/**
 * One entry of the audit trail.
 *
 * @param id the event's id
 * @param seq its position in the trail (for ordering and cursors)
 * @param occurredAt when it happened
 * @param type what happened, dotted, such as {@code plugin.failed} or {@code token.created}
 * @param severity {@code info}, {@code warning} or {@code error}
 * @param actor who or what did it: a token's name, {@code system}, a plugin id
 * @param deploymentId the deployment concerned, or {@code null}
 * @param subjectType the kind of thing concerned ({@code plugin}, {@code token}, {@code training_run}…), or {@code null}
 * @param subjectId its id, or {@code null}
 * @param message one sentence for people
 * @param data the numbers and facts behind it
 */
public record Event(
        String id,
        @JsonIgnore long seq,
        Instant occurredAt,
        String type,
        String severity,
        String actor,
        String deploymentId,
        String subjectType,
        String subjectId,
        String message,
        Map<String, Object> data) {}
