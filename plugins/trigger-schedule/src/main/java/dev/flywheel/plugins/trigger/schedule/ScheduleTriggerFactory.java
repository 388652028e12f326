package dev.flywheel.plugins.trigger.schedule;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import java.text.ParseException;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.List;
import java.util.TimeZone;
import org.pf4j.Extension;
import org.quartz.CronExpression;

/**
 * Fires once per occurrence of a cron schedule (Quartz syntax, with seconds) in a given time zone, such as
 * every Monday at 03:00 in Europe/Berlin: retraining on a fixed cadence, whatever the traffic does.
 */
@Extension
public class ScheduleTriggerFactory implements RetrainingTriggerFactory {

    static final ConfigSchema SCHEMA = ConfigSchema.of(
            ConfigProperty.builder("cron", ConfigKind.CRON)
                    .required()
                    .description("When to retrain, as a Quartz cron expression with seconds: "
                            + "\"0 0 3 ? * MON\" is every Monday at 03:00, \"0 0 2 1 * ?\" the 1st of each "
                            + "month at 02:00.")
                    .build(),
            ConfigProperty.builder("time_zone", ConfigKind.STRING)
                    .defaultValue("UTC")
                    .description("The time zone the cron is read in, as an IANA id such as Europe/Berlin; "
                            + "daylight-saving changes are followed.")
                    .build());

    @Override
    public String type() {
        return "schedule";
    }

    @Override
    public String displayName() {
        return "Fixed schedule (cron)";
    }

    @Override
    public String description() {
        return "Starts retraining on a fixed schedule, such as every Monday at 03:00, once per occurrence.";
    }

    @Override
    public ConfigSchema configSchema() {
        return SCHEMA;
    }

    /** An invalid cron or time zone, or a cron that never fires again, names its setting. */
    @Override
    public void validate(ExtensionConfig config) throws ConfigValidationException {
        try {
            check(config, java.time.Instant.now());
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            int colon = message.indexOf(": ");
            throw new ConfigValidationException(List.of(colon > 0
                    ? new ConfigValidationException.FieldError(message.substring(0, colon), message.substring(colon + 2))
                    : new ConfigValidationException.FieldError("cron", message)));
        }
    }

    /**
     * @throws IllegalArgumentException when the cron or the time zone is invalid, or the cron never fires
     *     again (the server checks {@link #validate} first); the message starts with the setting's name
     */
    @Override
    public RetrainingTrigger create(ExtensionConfig config, ExtensionContext context) {
        return check(config, context.clock().instant());
    }

    private static ScheduleTrigger check(ExtensionConfig config, java.time.Instant now) {
        String cron = config.string("cron")
                .orElseThrow(() -> new IllegalArgumentException("cron: is required"));
        ZoneId zone = zone(config.string("time_zone").orElse("UTC"));
        CronExpression expression = parse(cron, zone);
        // A cron pinned to past years parses but would never fire: almost certainly a mistake worth a 400.
        if (expression.getNextValidTimeAfter(java.util.Date.from(now)) == null) {
            throw new IllegalArgumentException("cron: \"" + cron + "\" has no occurrence after " + now
                    + ", so it would never fire");
        }
        return new ScheduleTrigger(cron, zone, expression);
    }

    static ZoneId zone(String id) {
        try {
            return ZoneId.of(id.trim());
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("time_zone: unknown time zone \"" + id
                    + "\"; use an IANA id such as \"UTC\" or \"Europe/Berlin\"", e);
        }
    }

    static CronExpression parse(String cron, ZoneId zone) {
        CronExpression expression;
        try {
            expression = new CronExpression(cron);
        } catch (ParseException | RuntimeException e) {
            // Quartz's messages name the problem but not the expected format; say both.
            throw new IllegalArgumentException("cron: invalid cron expression \"" + cron + "\": " + e.getMessage()
                    + ". Expected Quartz syntax with seconds, such as \"0 0 3 ? * MON\" (every Monday at 03:00); "
                    + "one of day-of-month and day-of-week must be \"?\".", e);
        }
        expression.setTimeZone(TimeZone.getTimeZone(zone));
        return expression;
    }
}
