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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model runtime whose models are slow on purpose, for tests and benchmarks of a slow shadow: format {@code slow};
 * the artifact's text is the milliseconds each prediction sleeps; every prediction is the first label, certain.
 */
public class SlowModelRuntimeFactory implements ModelRuntimeFactory {

    @Override
    public String type() {
        return "slow";
    }

    @Override
    public ModelRuntime create(ExtensionConfig config, ExtensionContext context) {
        return new SlowRuntime();
    }

    /** The runtime. */
    public static class SlowRuntime implements ModelRuntime {
        @Override
        public Set<String> formats() {
            return Set.of("slow");
        }

        @Override
        public LoadedModel load(ModelArtifact artifact) {
            try {
                return new SlowModel(artifact.metadata(), Long.parseLong(Files.readString(artifact.artifactFile()).trim()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A model that sleeps before it answers. */
    public static class SlowModel implements LoadedModel {
        private final ModelMetadata metadata;
        private final long sleepMillis;

        SlowModel(ModelMetadata metadata, long sleepMillis) {
            this.metadata = metadata;
            this.sleepMillis = sleepMillis;
        }

        @Override
        public ModelMetadata metadata() {
            return metadata;
        }

        @Override
        public List<ModelOutput> predict(List<ModelInput> inputs) {
            try {
                Thread.sleep(sleepMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
            var out = new ArrayList<ModelOutput>();
            for (int i = 0; i < inputs.size(); i++) {
                Map<String, Double> scores = new LinkedHashMap<>();
                for (String label : metadata.labels()) {
                    scores.put(label, scores.isEmpty() ? 1.0 : 0.0);
                }
                out.add(new ModelOutput(metadata.labels().get(0), 1.0, scores));
            }
            return out;
        }

        @Override
        public void close() {}
    }
}
