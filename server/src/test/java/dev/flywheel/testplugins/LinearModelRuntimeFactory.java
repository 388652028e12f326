package dev.flywheel.testplugins;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.InvalidInputException;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import dev.flywheel.spi.runtime.ModelOutput;
import dev.flywheel.spi.runtime.ModelRuntime;
import dev.flywheel.spi.runtime.ModelRuntimeFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;

/**
 * A second, tiny model runtime for tests that must start several servers in one JVM (libtorch binds to the first
 * class loader that loads it): format {@code linear}, a softmax over {@code W x + b} whose weights are the artifact,
 * one row per label as whitespace-separated numbers, the bias last. A real model, just a small one.
 */
public class LinearModelRuntimeFactory implements ModelRuntimeFactory {

    @Override
    public String type() {
        return "linear";
    }

    @Override
    public ModelRuntime create(ExtensionConfig config, ExtensionContext context) {
        return new LinearRuntime();
    }

    /** The runtime. */
    public static class LinearRuntime implements ModelRuntime {
        @Override
        public Set<String> formats() {
            return Set.of("linear");
        }

        @Override
        public LoadedModel load(ModelArtifact artifact) throws InvalidModelException {
            if (!(artifact.metadata().input() instanceof InputSpec.Features f)) {
                throw new InvalidModelException("linear models take features");
            }
            List<String> lines;
            try {
                lines = Files.readAllLines(artifact.artifactFile()).stream().filter(l -> !l.isBlank()).toList();
            } catch (IOException e) {
                throw new InvalidModelException("cannot read the weights: " + e.getMessage());
            }
            int labels = artifact.metadata().labels().size();
            if (lines.size() != labels) {
                throw new InvalidModelException("expected " + labels + " rows of weights, got " + lines.size());
            }
            double[][] w = new double[labels][];
            for (int i = 0; i < labels; i++) {
                try {
                    w[i] = java.util.Arrays.stream(lines.get(i).trim().split("\\s+")).mapToDouble(Double::parseDouble)
                            .toArray();
                } catch (NumberFormatException e) {
                    throw new InvalidModelException("row " + i + " is not numbers");
                }
                if (w[i].length != f.size() + 1) {
                    throw new InvalidModelException("row " + i + " needs " + (f.size() + 1) + " numbers");
                }
            }
            return new LinearModel(artifact.metadata(), w);
        }
    }

    /** A loaded linear model. */
    public static class LinearModel implements LoadedModel {
        private final ModelMetadata metadata;
        private final double[][] w;

        LinearModel(ModelMetadata metadata, double[][] w) {
            this.metadata = metadata;
            this.w = w;
        }

        @Override
        public ModelMetadata metadata() {
            return metadata;
        }

        @Override
        public List<ModelOutput> predict(List<ModelInput> inputs) throws InvalidInputException {
            var out = new ArrayList<ModelOutput>();
            for (ModelInput in : inputs) {
                if (!(in instanceof ModelInput.Features f) || f.values().length != w[0].length - 1) {
                    throw new InvalidInputException("expected " + (w[0].length - 1) + " features");
                }
                double[] z = new double[w.length];
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < w.length; k++) {
                    z[k] = w[k][w[k].length - 1];
                    for (int i = 0; i < f.values().length; i++) {
                        z[k] += w[k][i] * f.values()[i];
                    }
                    max = Math.max(max, z[k]);
                }
                double sum = 0;
                for (int k = 0; k < z.length; k++) {
                    z[k] = Math.exp(z[k] - max);
                    sum += z[k];
                }
                var scores = new LinkedHashMap<String, Double>();
                int best = 0;
                for (int k = 0; k < z.length; k++) {
                    scores.put(metadata.labels().get(k), z[k] / sum);
                    if (z[k] > z[best]) {
                        best = k;
                    }
                }
                out.add(new ModelOutput(metadata.labels().get(best), z[best] / sum, scores));
            }
            return out;
        }

        @Override
        public void close() {}
    }
}
