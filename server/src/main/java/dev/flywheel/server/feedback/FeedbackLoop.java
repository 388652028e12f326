package dev.flywheel.server.feedback;

import java.time.Instant;
import java.util.List;

/**
 * A deployment's feedback loop: while active, every reviewed prediction that was not rejected becomes one item in
 * each attached dataset version.
 *
 * @param deploymentId the deployment
 * @param active whether reviewed predictions flow now
 * @param datasetVersionIds the attached dataset versions
 * @param pending reviewed predictions that have not flowed yet (the loop is inactive or has no dataset version)
 * @param submitted predictions that have reached the dataset versions
 * @param createdBy who set it up
 * @param createdAt when
 * @param updatedAt when it last changed
 */
public record FeedbackLoop(String deploymentId, boolean active, List<String> datasetVersionIds, long pending,
        long submitted, String createdBy, Instant createdAt, Instant updatedAt) {}
