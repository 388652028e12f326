package dev.flywheel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PoolingAndRatiosTest {

    private static ClosedLoop.Measured phase(double seconds, long errors, long... latenciesMs) {
        var r = new LatencyRecorder();
        for (long l : latenciesMs) {
            r.record(l * 1_000_000);
        }
        var result = new PhaseResult("p", 4, seconds, latenciesMs.length, errors,
                (latenciesMs.length - errors) / seconds, r.quantile(0.5) / 1e6, r.quantile(0.99) / 1e6, r.mean() / 1e6,
                latenciesMs.length - errors + 10);
        return new ClosedLoop.Measured(result, r);
    }

    @Test
    void poolingMergesLatenciesAndAddsCountsAndTime() {
        PhaseResult p = ClosedLoop.pool("all", List.of(phase(1, 0, 1, 2, 3), phase(3, 1, 100)));
        assertThat(p.requests()).isEqualTo(4);
        assertThat(p.errors()).isEqualTo(1);
        assertThat(p.seconds()).isEqualTo(4);
        // (4 requests - 1 error) over 4 measured seconds, not a mean of the phases' rates.
        assertThat(p.throughput()).isEqualTo(0.75);
        assertThat(p.p99Ms()).isEqualTo(100);
        assertThat(p.p50Ms()).isEqualTo(2);
        assertThat(p.acknowledged()).isEqualTo(3 + 10 + 0 + 10);
        assertThat(p.concurrency()).isEqualTo(4);
    }

    @Test
    void shadowRatiosPooledPerRoundAndTheBaselinesSpread() {
        PhaseResult without = phase(10, 0, 10, 20).result();
        PhaseResult with = phase(5, 0, 30).result();
        Map<String, Double> r = ShadowBench.ratios(without, with, List.of(without, phase(1, 0, 40).result()),
                List.of(with, with));
        assertThat(r.get("p99 with/without")).isEqualTo(1.5);
        assertThat(r.get("throughput with/without")).isCloseTo(0.2 / 0.2, within(1e-9));
        assertThat(r.get("round 1 p99 with/without")).isEqualTo(1.5);
        assertThat(r.get("round 2 p99 with/without")).isEqualTo(0.75);
        assertThat(r.get("noise: p99 spread of the rounds without (max/min)")).isEqualTo(2.0);
        assertThat(ShadowBench.ratios(without, with, List.of(without), List.of(with)))
                .doesNotContainKey("noise: p99 spread of the rounds without (max/min)");
    }

    @Test
    void queueOverPageRatios() {
        PhaseResult page = phase(1, 0, 2, 4).result();
        PhaseResult queue = phase(1, 0, 8).result();
        Map<String, Double> r = ReviewQueueBench.ratios(page, queue);
        assertThat(r.get("p50 queue/page")).isEqualTo(4.0);
        assertThat(r.get("p99 queue/page")).isEqualTo(2.0);
        assertThat(r.get("throughput queue/page")).isEqualTo(0.5);
        assertThat(ReviewQueueBench.ratios(null, queue)).isEmpty();
    }

    @Test
    void countsPredictionObjectsAndReadsTheirIds() {
        String page = "{\"items\":[{\"id\":\"prd_1\",\"deployment_id\":\"dep_1\"},{\"prediction_id\":\"prd_9\","
                + "\"prediction\":{\"id\":\"prd_2\"}}],\"next_cursor\":null}";
        assertThat(ReviewQueueBench.countPredictions(page)).isEqualTo(2);
        assertThat(ReviewQueueBench.idOf("{\"deployment_id\":\"dep_1\",\"id\":\"prd_7\",\"label\":\"x\"}"))
                .isEqualTo("prd_7");
        assertThat(ReviewQueueBench.idOf("{\"error\":\"bad\"}")).isNull();
    }

    @Test
    void slowModelSpecMatchesTheRuntimesArchitectureJson() {
        assertThat(SlowModelBuilder.architectureJson(4, List.of(8, 8), 3))
                .isEqualTo("{\"type\":\"mlp\",\"input_size\":4,\"hidden\":[8,8],\"classes\":3,\"activation\":\"relu\"}");
        // 4*8+8 + 8*8+8 + 8*3+3
        assertThat(SlowModelBuilder.parameters(4, List.of(8, 8), 3)).isEqualTo(40 + 72 + 27);
        assertThat(SlowModelBuilder.parseHidden("4096, 2048")).containsExactly(4096, 2048);
    }
}
