package dev.flywheel.testplugins;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import dev.flywheel.spi.runtime.ModelOutput;
import dev.flywheel.spi.runtime.ModelRuntime;
import dev.flywheel.spi.runtime.ModelRuntimeFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;

/**
 * A model runtime that fails the way a buggy plugin does, for tests of how the server contains it: format
 * {@code faulty}; an artifact reading {@code crash-on-load} makes {@code load} throw, any other loads a model whose
 * {@code predict} throws.
 */
public class FaultyModelRuntimeFactory implements ModelRuntimeFactory {

    @Override
    public String type() {
        return "faulty";
    }

    @Override
    public ModelRuntime create(ExtensionConfig config, ExtensionContext context) {
        return new FaultyRuntime();
    }

    /** The runtime. */
    public static class FaultyRuntime implements ModelRuntime {
        @Override
        public Set<String> formats() {
            return Set.of("faulty");
        }

        @Override
        public LoadedModel load(ModelArtifact artifact) {
            try {
                if (Files.readString(artifact.artifactFile()).startsWith("crash-on-load")) {
                    throw new IllegalStateException("the faulty runtime crashed while loading");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new FaultyModel(artifact.metadata());
        }
    }

    /** A model that cannot predict. */
    public static class FaultyModel implements LoadedModel {
        private final ModelMetadata metadata;

        FaultyModel(ModelMetadata metadata) {
            this.metadata = metadata;
        }

        @Override
        public ModelMetadata metadata() {
            return metadata;
        }

        @Override
        public List<ModelOutput> predict(List<ModelInput> inputs) {
            throw new IllegalStateException("the faulty model crashed while predicting");
        }

        @Override
        public void close() {}
    }
}
