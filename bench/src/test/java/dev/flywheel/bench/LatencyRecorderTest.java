package dev.flywheel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyRecorderTest {

    @Test
    void nearestRankPercentilesOfOneToHundred() {
        var r = new LatencyRecorder();
        // Recorded out of order: the recorder must sort.
        for (int i = 100; i >= 1; i--) {
            r.record(i);
        }
        assertThat(r.count()).isEqualTo(100);
        assertThat(r.quantile(0.5)).isEqualTo(50);
        assertThat(r.quantile(0.99)).isEqualTo(99);
        assertThat(r.quantile(1.0)).isEqualTo(100);
        assertThat(r.quantile(0.001)).isEqualTo(1);
        assertThat(r.mean()).isEqualTo(50.5);
    }

    @Test
    void aP99OfFewSamplesIsTheirMaximumNotAnInterpolation() {
        var r = new LatencyRecorder();
        r.record(10);
        r.record(20);
        r.record(1000);
        assertThat(r.quantile(0.99)).isEqualTo(1000);
        assertThat(r.quantile(0.5)).isEqualTo(20);
    }

    @Test
    void mergeKeepsEveryValueAndGrowsPastTheInitialCapacity() {
        var a = new LatencyRecorder();
        var b = new LatencyRecorder();
        for (int i = 0; i < 40_000; i++) {
            a.record(1);
        }
        b.record(7);
        var all = LatencyRecorder.merge(List.of(a, b));
        assertThat(all.count()).isEqualTo(40_001);
        assertThat(all.quantile(1.0)).isEqualTo(7);
        assertThat(all.quantile(0.5)).isEqualTo(1);
    }

    @Test
    void emptyIsNaNAndBadQuantilesAreRefused() {
        var r = new LatencyRecorder();
        assertThat(r.quantile(0.5)).isNaN();
        assertThat(r.mean()).isNaN();
        assertThatThrownBy(() -> r.quantile(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> r.quantile(1.5)).isInstanceOf(IllegalArgumentException.class);
    }
}
