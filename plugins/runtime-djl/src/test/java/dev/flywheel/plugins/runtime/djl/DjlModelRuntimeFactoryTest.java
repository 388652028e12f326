package dev.flywheel.plugins.runtime.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.runtime.ModelRuntime;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DjlModelRuntimeFactoryTest {

    private final DjlModelRuntimeFactory factory = new DjlModelRuntimeFactory();

    @Test
    void describesItself() {
        assertThat(factory.type()).isEqualTo("djl");
        assertThat(factory.description()).isNotBlank();
        assertThat(factory.getClass().isAnnotationPresent(org.pf4j.Extension.class)).isTrue();
    }

    @Test
    void schemaHasBatchingDefaults() throws Exception {
        ExtensionConfig config = factory.configSchema().validate(Map.of());
        assertThat(config.integer("max_batch_size")).contains(32L);
        assertThat(config.duration("max_batch_delay")).contains(java.time.Duration.ZERO);
    }

    @Test
    void schemaRejectsAZeroBatchSize() {
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of("max_batch_size", 0)))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessageContaining("max_batch_size");
    }

    @Test
    void createsARuntimeForTorchScriptAndDjl() throws Exception {
        ExtensionConfig config = factory.configSchema().validate(Map.of("max_batch_size", 4, "max_batch_delay", "5ms"));
        try (ModelRuntime runtime = factory.create(config, new ExtensionContext() {
            @Override
            public String instanceName() {
                return "test";
            }

            @Override
            public Path workDirectory() {
                return Path.of(System.getProperty("java.io.tmpdir"));
            }

            @Override
            public String serverVersion() {
                return "0.1.0";
            }
        })) {
            assertThat(runtime.formats()).containsExactlyInAnyOrder("torchscript", "djl");
        }
    }
}
