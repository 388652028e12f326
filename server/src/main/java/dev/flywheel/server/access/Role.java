package dev.flywheel.server.access;

import java.util.Arrays;
import java.util.Locale;

/**
 * What a token may do. The first four form a ladder (an admin may do what an engineer may, and so on);
 * {@code PREDICT} tokens may only predict on their one deployment, {@code RUN} tokens only act for their one
 * training run (the job wrapper's).
 */
public enum Role {
    VIEWER(1),
    REVIEWER(2),
    ENGINEER(3),
    ADMIN(4),
    PREDICT(0),
    RUN(0);

    private final int rank;

    Role(int rank) {
        this.rank = rank;
    }

    /** Whether this role is on the ladder and at least as high as the other. */
    public boolean atLeast(Role other) {
        return rank > 0 && rank >= other.rank;
    }

    /** The name used in the API, lower-case. */
    @com.fasterxml.jackson.annotation.JsonValue
    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses an API name, or {@code null} if it is none. */
    public static Role parse(String name) {
        return Arrays.stream(values()).filter(r -> r.apiName().equals(name)).findFirst().orElse(null);
    }
}
