package dev.flywheel.server.access;

import io.javalin.security.RouteRole;

/**
 * What a route requires of the caller; every route declares one. The check itself is in {@link AccessControl}.
 */
public enum Access implements RouteRole {
    /** No token needed ({@code /health}, {@code /metrics}, the UI's assets). */
    PUBLIC(null),
    /** Any ladder role: read-only. */
    VIEWER(Role.VIEWER),
    /** Reviewer or higher: reviewing predictions. */
    REVIEWER(Role.REVIEWER),
    /** Engineer or higher: models, deployments, loop settings. */
    ENGINEER(Role.ENGINEER),
    /** Admin: tokens and plugins. */
    ADMIN(Role.ADMIN),
    /** Engineer or higher, or a predict token of the deployment in the path's {@code {d}}. */
    PREDICT(Role.ENGINEER),
    /** Engineer or higher, or the run token of the training run in the path's {@code {r}}. */
    RUN(Role.ENGINEER);

    private final Role minimum;

    Access(Role minimum) {
        this.minimum = minimum;
    }

    /** The lowest ladder role that passes, or {@code null} for public routes. */
    public Role minimum() {
        return minimum;
    }
}
