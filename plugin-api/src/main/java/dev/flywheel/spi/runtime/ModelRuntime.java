package dev.flywheel.spi.runtime;

import java.util.Optional;
import java.util.Set;

/** A configured model runtime: loads artifacts of the formats it supports. */
public interface ModelRuntime extends AutoCloseable {

    /** The {@code format} values of {@code model.json} this runtime loads, such as {@code "torchscript"}. */
    Set<String> formats();

    /**
     * Loads a model so that it can serve predictions. The server loads each model version once and shares
     * it among deployments, so the returned model must be safe for concurrent use.
     *
     * @param artifact where the model's files are, and its metadata
     * @return the loaded model
     * @throws InvalidModelException when the files are corrupt or do not fit the metadata; the server refuses
     *     the upload with this message and stores nothing
     */
    LoadedModel load(ModelArtifact artifact) throws InvalidModelException;

    /** The trainer this runtime offers for its formats, if any. */
    default Optional<Trainer> trainer() {
        return Optional.empty();
    }

    /** Releases what the runtime holds. Models it loaded are closed by the server beforehand. */
    @Override
    default void close() {}
}
