package dev.flywheel.server.blobs;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;

/**
 * Content-addressed storage for model artifacts and prediction inputs: content is stored under its SHA-256, so
 * storing the same bytes twice keeps one copy, and stored content never changes. {@link LocalBlobStore} keeps
 * the files under the data directory; an S3 store can implement the same interface.
 *
 * <p>Failures of the storage itself are {@link UncheckedIOException}s: they are the server's problem, never the
 * caller's.
 */
public interface BlobStore {

    /** What a blob address looks like. */
    Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /**
     * Stores the content of a stream. When this returns, the content is durable.
     *
     * @return its address
     */
    Blob put(InputStream content);

    /** The address content would have, without storing it. */
    static Blob addressOf(byte[] content) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(content);
            return new Blob(java.util.HexFormat.of().formatHex(d), content.length);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stores bytes. */
    default Blob put(byte[] content) {
        return put(new ByteArrayInputStream(content));
    }

    /** Stores a local file's content. */
    default Blob put(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return put(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Whether content with that address is stored. */
    boolean contains(String sha256);

    /**
     * Opens stored content.
     *
     * @throws java.util.NoSuchElementException when nothing is stored under that address
     */
    InputStream open(String sha256);

    /** Reads stored content into memory; for small blobs such as prediction inputs. */
    default byte[] read(String sha256) {
        try (InputStream in = open(sha256)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read blob " + sha256, e);
        }
    }

    /** Copies stored content to a local file, replacing it. */
    default void copyTo(String sha256, Path target) {
        try (InputStream in = open(sha256)) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy blob " + sha256 + " to " + target, e);
        }
    }
}
