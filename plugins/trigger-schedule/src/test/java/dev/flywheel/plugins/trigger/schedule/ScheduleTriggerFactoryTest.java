package dev.flywheel.plugins.trigger.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.TriggerContext;
import dev.flywheel.spi.trigger.TriggerDecision;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ScheduleTriggerFactoryTest {

    private static final Instant CREATED = Instant.parse("2026-01-01T00:00:00Z");

    private final ScheduleTriggerFactory factory = new ScheduleTriggerFactory();

    @Test
    void describesItself() throws Exception {
        assertThat(factory.type()).isEqualTo("schedule");
        assertThat(factory.configSchema().validate(Map.of("cron", "0 0 3 ? * MON")).string("time_zone"))
                .contains("UTC");
    }

    @Test
    void theCronIsRequired() {
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of()))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessage("cron: is required");
    }

    @Test
    void aBadCronOrTimeZoneIsRefusedWhenSavedNamingTheSetting() throws Exception {
        assertThatThrownBy(() -> factory.validate(factory.configSchema().validate(Map.of("cron", "0 0 3 ? * NOPE"))))
                .isInstanceOf(ConfigValidationException.class)
                .satisfies(e -> assertThat(((ConfigValidationException) e).errors().get(0).field()).isEqualTo("cron"));
        assertThatThrownBy(() -> factory.validate(factory.configSchema().validate(Map.of("cron", "0 0 3 ? * MON",
                "time_zone", "Mars/Olympus"))))
                .isInstanceOf(ConfigValidationException.class)
                .satisfies(e -> assertThat(((ConfigValidationException) e).errors().get(0).field()).isEqualTo("time_zone"));
        // A cron pinned to a past year parses but never fires.
        assertThatThrownBy(() -> factory.validate(factory.configSchema().validate(Map.of("cron", "0 0 3 1 1 ? 2001"))))
                .hasMessageContaining("would never fire");
        factory.validate(factory.configSchema().validate(Map.of("cron", "0 0 3 ? * MON")));
    }

    @Test
    void doesNotFireOnTheVeryFirstEvaluationButSaysWhenItWill() throws Exception {
        var trigger = create("0 0 3 ? * MON", "UTC");
        // 2026-01-05 is a Monday.
        TriggerDecision decision = trigger.evaluate(context(Instant.parse("2026-01-05T10:00:00Z"), null, null));
        assertThat(decision.fire()).isFalse();
        assertThat(decision.reason()).isEqualTo(
                "First evaluation: the schedule starts now; next fire time 2026-01-12T03:00 UTC (2026-01-12T03:00:00Z).");
        assertThat(decision.evidence()).containsEntry("next_fire_time", "2026-01-12T03:00:00Z")
                .containsEntry("cron", "0 0 3 ? * MON")
                .containsEntry("time_zone", "UTC");
    }

    @Test
    void weeklyCronEvaluatedEveryMinuteFiresOncePerOccurrence() throws Exception {
        var trigger = create("0 0 3 ? * MON", "UTC");
        // Three weeks, evaluated every minute: Mondays 5, 12 and 19 January 2026 at 03:00.
        List<Instant> fired = run(trigger, Instant.parse("2026-01-04T00:00:00Z"),
                Instant.parse("2026-01-25T00:00:00Z"), Duration.ofMinutes(1));
        assertThat(fired).containsExactly(Instant.parse("2026-01-05T03:00:00Z"),
                Instant.parse("2026-01-12T03:00:00Z"), Instant.parse("2026-01-19T03:00:00Z"));
    }

    @Test
    void firesAtTheFirstEvaluationAfterTheOccurrenceWithItsEvidence() throws Exception {
        var trigger = create("0 0 3 ? * MON", "UTC");
        TriggerDecision decision = trigger.evaluate(context(Instant.parse("2026-01-05T03:00:30Z"),
                Instant.parse("2026-01-05T02:59:30Z"), null));
        assertThat(decision.fire()).isTrue();
        assertThat(decision.reason()).isEqualTo("Scheduled time 2026-01-05T03:00 UTC passed (cron \"0 0 3 ? * MON\"); "
                + "next fire time 2026-01-12T03:00 UTC (2026-01-12T03:00:00Z).");
        assertThat(decision.evidence())
                .containsEntry("scheduled_time", "2026-01-05T03:00:00Z")
                .containsEntry("next_fire_time", "2026-01-12T03:00:00Z")
                .containsEntry("since", "2026-01-05T02:59:30Z")
                .containsEntry("since_source", "last_evaluated_at")
                .containsEntry("occurrences_passed", 1L);
    }

    @Test
    void doesNotFireTwiceForTheSameOccurrence() throws Exception {
        var trigger = create("0 0 3 ? * MON", "UTC");
        // The evaluation at exactly 03:00:00 covers (02:59, 03:00] and fires; the next covers (03:00, 03:01].
        assertThat(trigger.evaluate(context(Instant.parse("2026-01-05T03:00:00Z"),
                Instant.parse("2026-01-05T02:59:00Z"), null)).fire()).isTrue();
        var again = trigger.evaluate(context(Instant.parse("2026-01-05T03:01:00Z"),
                Instant.parse("2026-01-05T03:00:00Z"), null));
        assertThat(again.fire()).isFalse();
        assertThat(again.reason()).startsWith("No scheduled time has passed since 2026-01-05T03:00:00Z; next fire time 2026-01-12T03:00");
        // Evaluated late, a few milliseconds after the occurrence, and then again: still once.
        assertThat(trigger.evaluate(context(Instant.parse("2026-01-12T03:00:00.250Z"),
                Instant.parse("2026-01-12T02:59:59.900Z"), null)).fire()).isTrue();
        assertThat(trigger.evaluate(context(Instant.parse("2026-01-12T03:00:00.900Z"),
                Instant.parse("2026-01-12T03:00:00.250Z"), null)).fire()).isFalse();
    }

    @Test
    void beforeItsFirstEvaluationItCountsFromTheLastRun() throws Exception {
        var trigger = create("0 0 3 ? * MON", "UTC");
        var decision = trigger.evaluate(context(Instant.parse("2026-01-20T12:00:00Z"), null,
                Instant.parse("2026-01-01T00:00:00Z")));
        assertThat(decision.fire()).isTrue();
        // Three Mondays passed since the run (5, 12, 19 January): one run, the latest occurrence named.
        assertThat(decision.evidence()).containsEntry("scheduled_time", "2026-01-19T03:00:00Z")
                .containsEntry("occurrences_passed", 3L)
                .containsEntry("since_source", "last_run_at");
        assertThat(decision.reason()).contains("(2 earlier occurrences since 2026-01-01T00:00:00Z collapsed into this run)");

        var recentRun = trigger.evaluate(context(Instant.parse("2026-01-20T12:00:00Z"), null,
                Instant.parse("2026-01-19T05:00:00Z")));
        assertThat(recentRun.fire()).isFalse();
    }

    @Test
    void monthlyCronFiresOnTheFirstOfEachMonth() throws Exception {
        var trigger = create("0 0 2 1 * ?", "UTC");
        List<Instant> fired = run(trigger, Instant.parse("2026-01-15T00:00:00Z"),
                Instant.parse("2026-04-15T00:00:00Z"), Duration.ofMinutes(7));
        assertThat(fired).containsExactly(Instant.parse("2026-02-01T02:00:00Z"),
                Instant.parse("2026-03-01T02:00:00Z"), Instant.parse("2026-04-01T02:00:00Z"));
    }

    @Test
    void followsDaylightSavingTimeInTheConfiguredZone() throws Exception {
        // Berlin leaves CET (+01) for CEST (+02) on 2026-03-29 and returns on 2026-10-25: 03:00 local is 02:00Z
        // before the change and 01:00Z after it.
        var trigger = create("0 0 3 ? * SUN", "Europe/Berlin");
        List<Instant> spring = run(trigger, Instant.parse("2026-03-21T00:00:00Z"),
                Instant.parse("2026-04-06T00:00:00Z"), Duration.ofMinutes(5));
        assertThat(spring).containsExactly(Instant.parse("2026-03-22T02:00:00Z"),
                Instant.parse("2026-03-29T01:00:00Z"), Instant.parse("2026-04-05T01:00:00Z"));
        List<Instant> autumn = run(trigger, Instant.parse("2026-10-17T00:00:00Z"),
                Instant.parse("2026-11-02T00:00:00Z"), Duration.ofMinutes(5));
        assertThat(autumn).containsExactly(Instant.parse("2026-10-18T01:00:00Z"),
                Instant.parse("2026-10-25T02:00:00Z"), Instant.parse("2026-11-01T02:00:00Z"));
    }

    @Test
    void aLocalTimeRepeatedWhenClocksGoBackFiresOnceAndOneThatDoesNotExistIsSkipped() throws Exception {
        var trigger = create("0 30 2 * * ?", "Europe/Berlin");
        // 02:30 happens twice on 2026-10-25 (at 00:30Z in CEST and 01:30Z in CET); Quartz fires it once.
        List<Instant> autumn = run(trigger, Instant.parse("2026-10-24T12:00:00Z"),
                Instant.parse("2026-10-26T12:00:00Z"), Duration.ofMinutes(1));
        assertThat(autumn).hasSize(2).startsWith(Instant.parse("2026-10-25T01:30:00Z"))
                .endsWith(Instant.parse("2026-10-26T01:30:00Z"));
        // 02:30 does not exist on 2026-03-29 (clocks jump from 02:00 to 03:00); Quartz skips that day.
        List<Instant> spring = run(trigger, Instant.parse("2026-03-28T12:00:00Z"),
                Instant.parse("2026-03-30T12:00:00Z"), Duration.ofMinutes(1));
        assertThat(spring).containsExactly(Instant.parse("2026-03-30T00:30:00Z"));
    }

    @Test
    void anInvalidCronIsRejectedWithAClearMessage() throws Exception {
        var bothDays = factory.configSchema().validate(Map.of("cron", "0 0 3 * * MON"));
        assertThatThrownBy(() -> factory.create(bothDays, context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("cron: invalid cron expression \"0 0 3 * * MON\": Support for specifying "
                        + "both a day-of-week AND a day-of-month parameter is not implemented.")
                .hasMessageContaining("such as \"0 0 3 ? * MON\"");
        var badHour = factory.configSchema().validate(Map.of("cron", "0 0 25 ? * MON"));
        assertThatThrownBy(() -> factory.create(badHour, context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Hour values must be between 0 and 23");
        // Five fields (Unix cron, no seconds) never reach create(): the schema turns them away.
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of("cron", "0 3 * * 1")))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessageStartingWith("cron: must be a cron expression with seconds");
    }

    @Test
    void aCronThatNeverFiresAgainIsRejected() throws Exception {
        var past = factory.configSchema().validate(Map.of("cron", "0 0 3 ? * MON 2020"));
        assertThatThrownBy(() -> factory.create(past, context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cron: \"0 0 3 ? * MON 2020\" has no occurrence after 2026-01-01T00:00:00Z, so it would never fire");
    }

    @Test
    void anUnknownTimeZoneIsRejectedWithAClearMessage() throws Exception {
        var config = factory.configSchema().validate(Map.of("cron", "0 0 3 ? * MON", "time_zone", "Mars/Olympus"));
        assertThatThrownBy(() -> factory.create(config, context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("time_zone: unknown time zone \"Mars/Olympus\"; use an IANA id such as \"UTC\" or \"Europe/Berlin\"");
    }

    @Test
    void acceptsOffsetZones() throws Exception {
        var trigger = create("0 0 3 ? * MON", "+05:30");
        var decision = trigger.evaluate(context(Instant.parse("2026-01-04T21:31:00Z"),
                Instant.parse("2026-01-04T21:29:00Z"), null));
        assertThat(decision.fire()).isTrue();
        assertThat(decision.evidence()).containsEntry("scheduled_time", "2026-01-04T21:30:00Z")
                .containsEntry("scheduled_time_local", "2026-01-05T03:00");
    }

    /** Evaluates every {@code step} from {@code from} to {@code to}, as the server would; returns what fired. */
    private static List<Instant> run(RetrainingTrigger trigger, Instant from, Instant to, Duration step) {
        var fired = new ArrayList<Instant>();
        Instant last = null;
        for (Instant now = from; !now.isAfter(to); now = now.plus(step)) {
            TriggerDecision decision = trigger.evaluate(context(now, last, null));
            if (decision.fire()) {
                fired.add(Instant.parse((String) decision.evidence().get("scheduled_time")));
            }
            last = now;
        }
        return fired;
    }

    private RetrainingTrigger create(String cron, String zone) throws ConfigValidationException {
        return factory.create(factory.configSchema().validate(Map.of("cron", cron, "time_zone", zone)), context());
    }

    private static ExtensionContext context() {
        return new ExtensionContext() {
            @Override
            public String instanceName() {
                return "schedule-test";
            }

            @Override
            public Path workDirectory() {
                return Path.of(System.getProperty("java.io.tmpdir"));
            }

            @Override
            public Clock clock() {
                return Clock.fixed(CREATED, ZoneOffset.UTC);
            }

            @Override
            public String serverVersion() {
                return "0.1.0";
            }
        };
    }

    private static TriggerContext context(Instant now, Instant lastEvaluatedAt, Instant lastRunAt) {
        return new TriggerContext() {
            @Override
            public String deploymentId() {
                return "d1";
            }

            @Override
            public Instant now() {
                return now;
            }

            @Override
            public Optional<Instant> lastRunAt() {
                return Optional.ofNullable(lastRunAt);
            }

            @Override
            public Optional<Instant> lastEvaluatedAt() {
                return Optional.ofNullable(lastEvaluatedAt);
            }

            @Override
            public long reviewedSinceLastRun() {
                return 0;
            }
        };
    }
}
