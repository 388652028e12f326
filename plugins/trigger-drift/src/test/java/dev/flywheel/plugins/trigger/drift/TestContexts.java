package dev.flywheel.plugins.trigger.drift;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.trigger.TriggerContext;
import dev.flywheel.spi.trigger.TriggerContext.Sample;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/** Testing contexts and seeded synthetic traffic. */
final class TestContexts {

    private TestContexts() {}

    static ExtensionContext extensionContext() {
        return new ExtensionContext() {
            @Override
            public String instanceName() {
                return "drift-test";
            }

            @Override
            public Path workDirectory() {
                return Path.of(System.getProperty("java.io.tmpdir"));
            }

            @Override
            public String serverVersion() {
                return "0.1.0";
            }
        };
    }

    /** A context that hands out the given samples, truncated to the size asked for, as the server does. */
    static TriggerContext withSamples(Sample reference, Sample recent) {
        return new TriggerContext() {
            @Override
            public String deploymentId() {
                return "d1";
            }

            @Override
            public Instant now() {
                return Instant.parse("2026-01-01T00:00:00Z");
            }

            @Override
            public Optional<Instant> lastRunAt() {
                return Optional.empty();
            }

            @Override
            public Optional<Instant> lastEvaluatedAt() {
                return Optional.empty();
            }

            @Override
            public long reviewedSinceLastRun() {
                return 0;
            }

            @Override
            public Optional<Sample> referenceSample(int maxSize) {
                return Optional.ofNullable(reference).map(s -> head(s, maxSize));
            }

            @Override
            public Sample recentSample(int maxSize) {
                return head(recent, maxSize);
            }
        };
    }

    private static Sample head(Sample s, int maxSize) {
        int n = Math.min(maxSize, s.size());
        return new Sample(s.labels().subList(0, n),
                s.features().isEmpty() ? List.of() : s.features().subList(0, n), List.of());
    }

    /**
     * Synthetic traffic: labels drawn from {@code labelShares}, and {@code dims} independent standard
     * Gaussian features, feature {@code shiftedFeature} moved by {@code shift} standard deviations.
     */
    static Sample traffic(Random random, int n, double[] labelShares, int dims, int shiftedFeature, double shift) {
        var labels = new ArrayList<String>(n);
        var features = new ArrayList<double[]>(n);
        for (int i = 0; i < n; i++) {
            double u = random.nextDouble();
            int k = 0;
            double cumulative = labelShares[0];
            while (u >= cumulative && k < labelShares.length - 1) {
                cumulative += labelShares[++k];
            }
            labels.add("class-" + k);
            double[] x = new double[dims];
            for (int d = 0; d < dims; d++) {
                x[d] = random.nextGaussian() + (d == shiftedFeature ? shift : 0);
            }
            features.add(x);
        }
        return new Sample(labels, features, List.of());
    }
}
