package dev.flywheel.plugins.trigger.schedule;

import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.TriggerContext;
import dev.flywheel.spi.trigger.TriggerDecision;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Optional;
import org.quartz.CronExpression;

/**
 * Fires when at least one cron occurrence falls in {@code (since, now]}, where {@code since} is the last
 * evaluation (or, before the first one, the last run). Consecutive evaluations so cover time without gaps or
 * overlaps, and each occurrence fires exactly once however often the trigger is evaluated. Occurrences
 * missed while the server was down collapse into one run: retraining twice in a row on the same data helps
 * no one.
 */
public final class ScheduleTrigger implements RetrainingTrigger {

    /** Enough to walk a per-second cron over a few hours of downtime; beyond it the count is a lower bound. */
    private static final int MAX_COUNTED_OCCURRENCES = 10_000;

    private final String cron;
    private final ZoneId zone;
    private final CronExpression expression;

    ScheduleTrigger(String cron, ZoneId zone, CronExpression expression) {
        this.cron = cron;
        this.zone = zone;
        this.expression = expression;
    }

    @Override
    public TriggerDecision evaluate(TriggerContext context) {
        Instant now = context.now();
        var evidence = new LinkedHashMap<String, Object>();
        evidence.put("cron", cron);
        evidence.put("time_zone", zone.getId());
        evidence.put("evaluated_at", now.toString());
        Optional<Instant> nextFire = after(now);
        evidence.put("next_fire_time", nextFire.map(Instant::toString).orElse(null));

        Optional<Instant> since = context.lastEvaluatedAt().or(context::lastRunAt);
        if (since.isEmpty()) {
            return TriggerDecision.hold("First evaluation: the schedule starts now; next fire time "
                    + describe(nextFire) + ".", evidence);
        }
        evidence.put("since", since.get().toString());
        evidence.put("since_source", context.lastEvaluatedAt().isPresent() ? "last_evaluated_at" : "last_run_at");

        Optional<Instant> first = after(since.get()).filter(t -> !t.isAfter(now));
        if (first.isEmpty()) {
            return TriggerDecision.hold("No scheduled time has passed since " + since.get() + "; next fire time "
                    + describe(nextFire) + ".", evidence);
        }
        Instant latest = first.get();
        int passed = 1;
        for (Optional<Instant> t = after(latest); t.isPresent() && !t.get().isAfter(now); t = after(t.get())) {
            latest = t.get();
            if (++passed >= MAX_COUNTED_OCCURRENCES) {
                break;
            }
        }
        evidence.put("scheduled_time", latest.toString());
        evidence.put("scheduled_time_local", latest.atZone(zone).toLocalDateTime().toString());
        evidence.put("occurrences_passed", (long) passed);
        String missed = passed > 1 ? " (" + (passed - 1) + " earlier occurrence" + (passed > 2 ? "s" : "")
                + " since " + since.get() + " collapsed into this run)" : "";
        return TriggerDecision.fire("Scheduled time " + latest.atZone(zone).toLocalDateTime() + " " + zone.getId()
                + " passed (cron \"" + cron + "\")" + missed + "; next fire time " + describe(nextFire) + ".",
                evidence);
    }

    private Optional<Instant> after(Instant instant) {
        // CronExpression keeps scratch state and the server may evaluate one trigger from several threads.
        synchronized (expression) {
            return Optional.ofNullable(expression.getNextValidTimeAfter(Date.from(instant))).map(Date::toInstant);
        }
    }

    private String describe(Optional<Instant> time) {
        return time.map(t -> t.atZone(zone).toLocalDateTime() + " " + zone.getId() + " (" + t + ")")
                .orElse("none (the cron has no future occurrence)");
    }
}
