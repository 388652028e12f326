package dev.flywheel.server.registry;

import java.time.Instant;

/**
 * A registered model: a name under which versions are uploaded.
 *
 * @param id its id
 * @param name its unique name
 * @param latestVersion the number of its newest version, or {@code null} before the first upload
 * @param createdBy who created it
 * @param createdAt when
 */
public record Model(String id, String name, Integer latestVersion, String createdBy, Instant createdAt) {}
