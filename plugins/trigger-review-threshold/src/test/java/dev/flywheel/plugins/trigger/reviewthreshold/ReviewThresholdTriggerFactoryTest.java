package dev.flywheel.plugins.trigger.reviewthreshold;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.TriggerContext;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ReviewThresholdTriggerFactoryTest {

    private final ReviewThresholdTriggerFactory factory = new ReviewThresholdTriggerFactory();

    @Test
    void firesExactlyAtTheThreshold() throws Exception {
        RetrainingTrigger trigger = factory.create(factory.configSchema().validate(Map.of("threshold", 300)), context());

        var below = trigger.evaluate(reviewed(299));
        var at = trigger.evaluate(reviewed(300));

        assertThat(below.fire()).isFalse();
        assertThat(below.reason()).isEqualTo("299 of 300 reviewed predictions since the last run");
        assertThat(at.fire()).isTrue();
        assertThat(at.evidence()).containsEntry("reviewed_since_last_run", 300L).containsEntry("threshold", 300L);
    }

    @Test
    void defaultsToOneThousand() throws Exception {
        var config = factory.configSchema().validate(Map.of());
        assertThat(config.integer("threshold")).contains(1000L);
    }

    @Test
    void rejectsANonPositiveThreshold() {
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of("threshold", 0)))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessage("threshold: must be at least 1");
    }

    private static ExtensionContext context() {
        return new ExtensionContext() {
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
        };
    }

    private static TriggerContext reviewed(long count) {
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
                return count;
            }
        };
    }
}
