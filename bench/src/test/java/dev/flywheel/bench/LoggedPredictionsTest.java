package dev.flywheel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoggedPredictionsTest {

    private static final List<String> LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");
    private final LoggedPredictions mix = new LoggedPredictions(LABELS, 0.6, 0.15, 1000);

    @Test
    void theSameNumberAlwaysGivesTheSamePrediction() {
        assertThat(mix.entry(12_345)).isEqualTo(mix.entry(12_345));
        assertThat(new LoggedPredictions(LABELS, 0.6, 0.15, 1000).entry(7)).isEqualTo(mix.entry(7));
    }

    @Test
    void aShareBelowTheThresholdAndOneInNFlagged() {
        int low = 0;
        int flagged = 0;
        for (long n = 0; n < 20_000; n++) {
            LoggedPredictions.Entry e = mix.entry(n);
            low += e.confidence() < 0.6 ? 1 : 0;
            flagged += e.flagged() ? 1 : 0;
            assertThat(e.confidence()).isBetween(LoggedPredictions.LOWEST, LoggedPredictions.HIGHEST);
            assertThat(e.label()).isEqualTo(LABELS.get((int) (n % 3)));
            assertThat(e.scores().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0,
                    org.assertj.core.data.Offset.offset(1e-9));
            // The label is the most probable one, as a real classifier's would be.
            assertThat(e.scores().get(e.label())).isEqualTo(
                    e.scores().values().stream().mapToDouble(Double::doubleValue).max().orElseThrow());
        }
        assertThat(low / 20_000.0).isBetween(0.13, 0.17);
        assertThat(flagged).isEqualTo(20);
    }

    @Test
    void anAnomalyIsFlaggedOrBelowTheThreshold() {
        var low = new LoggedPredictions.Entry("a", 0.5, java.util.Map.of(), false);
        var flagged = new LoggedPredictions.Entry("a", 0.9, java.util.Map.of(), true);
        var ordinary = new LoggedPredictions.Entry("a", 0.6, java.util.Map.of(), false);
        assertThat(low.anomaly(0.6)).isTrue();
        assertThat(flagged.anomaly(0.6)).isTrue();
        assertThat(ordinary.anomaly(0.6)).isFalse();
    }

    @Test
    void theLogBodyIsTheApisLogPredictionRequest() throws Exception {
        JsonNode body = new ObjectMapper().readTree(mix.json(4, new float[] {1, 2, 3, 4}, "mv_1"));
        LoggedPredictions.Entry e = mix.entry(4);
        assertThat(body.path("input").path("features")).hasSize(4);
        assertThat(body.path("label").asText()).isEqualTo(e.label());
        assertThat(body.path("confidence").asDouble()).isEqualTo(e.confidence());
        assertThat(body.path("scores").path(e.label()).asDouble()).isEqualTo(e.confidence());
        assertThat(body.path("model_version_id").asText()).isEqualTo("mv_1");
    }

    @Test
    void refusesAMixThatCannotBeMade() {
        assertThatThrownBy(() -> new LoggedPredictions(List.of("one"), 0.6, 0.1, 10))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LoggedPredictions(LABELS, 0.2, 0.1, 10))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
