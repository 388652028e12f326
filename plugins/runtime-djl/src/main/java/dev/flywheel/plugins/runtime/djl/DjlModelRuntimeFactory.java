package dev.flywheel.plugins.runtime.djl;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.runtime.ModelRuntime;
import dev.flywheel.spi.runtime.ModelRuntimeFactory;
import java.time.Duration;
import org.pf4j.Extension;

/**
 * The {@code djl} model runtime: TorchScript and DJL-native classifiers on DJL's PyTorch engine (CPU), with
 * concurrent predictions gathered into batches.
 */
@Extension
public class DjlModelRuntimeFactory implements ModelRuntimeFactory {

    static final String MAX_BATCH_SIZE = "max_batch_size";
    static final String MAX_BATCH_DELAY = "max_batch_delay";

    static final ConfigSchema SCHEMA = ConfigSchema.of(
            ConfigProperty.builder(MAX_BATCH_SIZE, ConfigKind.INTEGER)
                    .defaultValue(32L)
                    .minimum(1)
                    .maximum(4096)
                    .description("The most inputs one forward pass runs; concurrent predictions on a model share"
                            + " passes up to this size.")
                    .build(),
            ConfigProperty.builder(MAX_BATCH_DELAY, ConfigKind.DURATION)
                    .defaultValue("0ms")
                    .description("How long a forward pass waits for more concurrent inputs once it has one: the"
                            + " latency traded for throughput under load. 0ms batches only what is already waiting.")
                    .build());

    @Override
    public String type() {
        return "djl";
    }

    @Override
    public String displayName() {
        return "DJL (PyTorch, CPU)";
    }

    @Override
    public String description() {
        return "Serves TorchScript (.pt) and DJL-native MLP classifiers with the PyTorch engine, batching concurrent"
                + " predictions.";
    }

    @Override
    public ConfigSchema configSchema() {
        return SCHEMA;
    }

    @Override
    public ModelRuntime create(ExtensionConfig config, ExtensionContext context) {
        int maxBatchSize = Math.toIntExact(config.integer(MAX_BATCH_SIZE).orElse(32L));
        Duration maxBatchDelay = config.duration(MAX_BATCH_DELAY).orElse(Duration.ofMillis(2));
        return new DjlModelRuntime(maxBatchSize, maxBatchDelay, context.logger());
    }
}
