package dev.flywheel.server.access;

import java.time.Instant;

/**
 * A stored token, without its secret.
 *
 * @param id the token's id
 * @param name what it is for, such as {@code ci-deployer}
 * @param role what it may do
 * @param deploymentId for {@code predict} tokens, their deployment
 * @param runId for {@code run} tokens, their training run
 * @param createdBy the id of the token that created it, or {@code null} for the bootstrap admin
 * @param createdAt when it was created
 * @param expiresAt when it stops working, or {@code null}
 * @param revokedAt when it was revoked, or {@code null}
 */
public record Token(
        String id,
        String name,
        Role role,
        String deploymentId,
        String runId,
        String createdBy,
        Instant createdAt,
        Instant expiresAt,
        Instant revokedAt) {

    /** Whether it can be used at that time. */
    public boolean activeAt(Instant now) {
        return revokedAt == null && (expiresAt == null || now.isBefore(expiresAt));
    }
}
