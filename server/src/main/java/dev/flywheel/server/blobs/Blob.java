package dev.flywheel.server.blobs;

/**
 * The address of stored content.
 *
 * @param sha256 the SHA-256 of the content, 64 lower-case hex digits
 * @param size its length in bytes
 */
public record Blob(String sha256, long size) {}
