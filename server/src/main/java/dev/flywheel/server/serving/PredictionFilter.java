package dev.flywheel.server.serving;

import java.time.Instant;

/**
 * Which of a deployment's predictions to list; {@code null} fields do not filter.
 *
 * @param status only in this status
 * @param modelVersionId only made by this version
 * @param since only made at or after this time
 * @param until only made before this time
 * @param label only with this label
 * @param confidenceBelow only with a confidence below this
 */
public record PredictionFilter(String status, String modelVersionId, Instant since, Instant until, String label,
        Double confidenceBelow) {}
