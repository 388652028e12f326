package dev.flywheel.server.promotion;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.spi.promotion.LatencyProbe;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bake watch's rules, one at a time: each breach, what holds, and what is not judged yet. */
class BakeWatchTest {

    private static final RollbackSettings DEFAULTS = RollbackSettings.defaults();
    private static final LatencyProbe SAME_SPEED = new LatencyProbe(40, 1.0, 1.02, 1.02, 0.97, 1.08);
    private static final BakeStore.Reviewed NONE = new BakeStore.Reviewed(0, 0);

    @Test
    void aHealthyPrimaryKeepsBakingAndPassesAtTheEnd() {
        var healthy = new BakeWatch.Record(2000, 1, 3000, 2, SAME_SPEED, new BakeStore.Reviewed(120, 110),
                new BakeStore.Reviewed(500, 430));
        var during = BakeWatch.judge(healthy, DEFAULTS, false, Duration.ofHours(1));
        assertThat(during.status()).isEqualTo(Bake.BAKING);
        assertThat(during.reason()).startsWith("No breach so far: error rate 0.05% (1 of 2000 requests failed");
        var end = BakeWatch.judge(healthy, DEFAULTS, true, Duration.ofHours(1));
        assertThat(end.status()).isEqualTo(Bake.PASSED);
        assertThat(end.reason()).startsWith("No breach in 1h: ");
        assertThat(end.checks()).containsEntry("errors_judged", true).containsEntry("latency_judged", true)
                .containsEntry("accuracy_judged", true).containsEntry("breaches", List.of());
    }

    @Test
    void errorsBeyondThePreviousPrimarysRateByMoreThanTheToleranceRollBack() {
        // 5% of 400 requests failed (95% interval from 3.26%) against 0.1% before: a breach.
        var failing = new BakeWatch.Record(400, 20, 10_000, 10, SAME_SPEED, NONE, NONE);
        var v = BakeWatch.judge(failing, DEFAULTS, false, Duration.ofHours(1));
        assertThat(v.status()).isEqualTo(Bake.ROLLED_BACK);
        assertThat(v.reason()).startsWith("Breach during the bake: error rate 5.00% (20 of 400 requests failed, 95% "
                + "interval from 3.26%) against 0.10% before the promotion, more than 1.00% higher");
        // The same rate on 40 requests is not judged yet (min_requests 100), and 2 of 150 could be chance.
        assertThat(BakeWatch.judge(new BakeWatch.Record(40, 2, 10_000, 10, SAME_SPEED, NONE, NONE), DEFAULTS, false,
                Duration.ofHours(1)).status()).isEqualTo(Bake.BAKING);
        assertThat(BakeWatch.judge(new BakeWatch.Record(150, 2, 10_000, 10, SAME_SPEED, NONE, NONE), DEFAULTS, false,
                Duration.ofHours(1)).status()).isEqualTo(Bake.BAKING);
        // A predecessor that failed as often sets the bar: no breach.
        assertThat(BakeWatch.judge(new BakeWatch.Record(400, 20, 10_000, 500, SAME_SPEED, NONE, NONE), DEFAULTS,
                false, Duration.ofHours(1)).status()).isEqualTo(Bake.BAKING);
    }

    @Test
    void aForwardPassSlowerBeyondTheRatioRollsBackButOnlyBeyondChance() {
        var slow = new BakeWatch.Record(0, 0, 0, 0, new LatencyProbe(40, 1.0, 9.5, 9.5, 8.8, 10.1), NONE, NONE);
        var v = BakeWatch.judge(slow, DEFAULTS, false, Duration.ofHours(1));
        assertThat(v.status()).isEqualTo(Bake.ROLLED_BACK);
        assertThat(v.reason()).isEqualTo("Breach during the bake: forward pass 9.50x the previous primary's (median of "
                + "40 back-to-back passes, 95% interval from 8.80x), above 2x.");
        var maybe = new BakeWatch.Record(0, 0, 0, 0, new LatencyProbe(25, 1.0, 2.4, 2.4, 1.5, 3.0), NONE, NONE);
        assertThat(BakeWatch.judge(maybe, DEFAULTS, false, Duration.ofHours(1)).status()).isEqualTo(Bake.BAKING);
        var unmeasured = new BakeWatch.Record(0, 0, 0, 0, new LatencyProbe(10, 1.0, 9.5, 9.5, 8.8, 10.1), NONE, NONE);
        var u = BakeWatch.judge(unmeasured, DEFAULTS, false, Duration.ofHours(1));
        assertThat(u.status()).isEqualTo(Bake.BAKING);
        assertThat(u.checks()).containsEntry("latency_judged", false);
    }

    @Test
    void anAccuracyDropBeyondTheToleranceRollsBackOnceBothHaveEnoughReviews() {
        var worse = new BakeWatch.Record(0, 0, 0, 0, SAME_SPEED, new BakeStore.Reviewed(200, 120),
                new BakeStore.Reviewed(500, 425));
        var v = BakeWatch.judge(worse, DEFAULTS, false, Duration.ofHours(1));
        assertThat(v.status()).isEqualTo(Bake.ROLLED_BACK);
        assertThat(v.reason()).contains("accuracy 0.600 on 200 reviewed predictions against 0.850 on the previous "
                + "primary's last 500, more than 0.05 lower");
        assertThat((double) v.checks().get("accuracy_drop_p_value")).isLessThan(0.05);
        // 49 reviews are too few to judge (min_samples 50), whatever they say.
        var early = new BakeWatch.Record(0, 0, 0, 0, SAME_SPEED, new BakeStore.Reviewed(49, 0),
                new BakeStore.Reviewed(500, 425));
        var e = BakeWatch.judge(early, DEFAULTS, true, Duration.ofMinutes(30));
        assertThat(e.status()).isEqualTo(Bake.PASSED);
        assertThat(e.reason()).contains("accuracy not judged yet (49 and 500 of 50 reviewed predictions)");
        // A drop within the tolerance holds.
        var close = new BakeWatch.Record(0, 0, 0, 0, SAME_SPEED, new BakeStore.Reviewed(1000, 830),
                new BakeStore.Reviewed(500, 425));
        assertThat(BakeWatch.judge(close, DEFAULTS, false, Duration.ofHours(1)).status()).isEqualTo(Bake.BAKING);
    }

    @Test
    void settingsAreValidatedWithEveryWrongFieldNamed() throws Exception {
        assertThat(RollbackSettings.defaults().asMap()).containsEntry("bake_period", "PT1H")
                .containsEntry("max_accuracy_drop", 0.05).containsEntry("min_samples", 50L);
        assertThat(RollbackSettings.validate(Map.of("bake_period", "0s")).enabled()).isFalse();
        try {
            RollbackSettings.validate(Map.of("bake_period", "soon", "max_latency_ratio", 0.5));
            throw new AssertionError("accepted");
        } catch (dev.flywheel.spi.config.ConfigValidationException ex) {
            assertThat(ex.errors()).extracting(err -> err.field()).containsExactlyInAnyOrder("bake_period",
                    "max_latency_ratio");
        }
    }
}
