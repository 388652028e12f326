package dev.flywheel.spi.runtime;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A model version's files on local disk.
 *
 * @param directory a directory holding {@code model.json} and the artifact file(s); read-only for the runtime
 * @param artifactFile the main artifact inside {@code directory}: a TorchScript {@code .pt} file, or the
 *     directory a {@code .zip} was unpacked to
 * @param metadata the parsed {@code model.json}
 */
public record ModelArtifact(Path directory, Path artifactFile, ModelMetadata metadata) {
    public ModelArtifact {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(artifactFile, "artifactFile");
        Objects.requireNonNull(metadata, "metadata");
    }
}
