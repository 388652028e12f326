package dev.flywheel.server.datasets;

import java.time.Instant;

/**
 * A named collection of training data, with versions.
 *
 * @param id its id
 * @param name its unique name
 * @param description what it holds
 * @param createdBy who created it
 * @param createdAt when
 */
public record Dataset(String id, String name, String description, String createdBy, Instant createdAt) {}
