package dev.flywheel.server.events;

import dev.flywheel.server.http.Json;
import dev.flywheel.server.http.Page;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.persistence.Ids;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes and reads the audit trail. Every capability records what it did here, with who did it and the numbers
 * behind it, so that anyone can later see why something happened.
 */
public final class EventService {

    private static final Logger LOG = LoggerFactory.getLogger(EventService.class);

    private final EventStore store;
    private final Clock clock;
    private final MeterRegistry meters;

    public EventService(EventStore store, Clock clock, MeterRegistry meters) {
        this.store = store;
        this.clock = clock;
        this.meters = meters;
    }

    /** Starts an event of that type; {@link Builder#record()} writes it. */
    public Builder event(String type, String message) {
        return new Builder(type, message);
    }

    public Page<Event> list(EventFilter filter, PageRequest page) {
        return page.page(store.list(filter, page.afterNumber(), page.fetchSize()), e -> Long.toString(e.seq()));
    }

    /** An event being described. */
    public final class Builder {
        private final String type;
        private final String message;
        private String severity = "info";
        private String actor = "system";
        private String deploymentId;
        private String subjectType;
        private String subjectId;
        private Map<String, ?> data = Map.of();

        private Builder(String type, String message) {
            this.type = type;
            this.message = message;
        }

        public Builder warning() {
            this.severity = "warning";
            return this;
        }

        public Builder error() {
            this.severity = "error";
            return this;
        }

        public Builder actor(String value) {
            this.actor = value;
            return this;
        }

        public Builder deployment(String id) {
            this.deploymentId = id;
            return this;
        }

        public Builder subject(String type, String id) {
            this.subjectType = type;
            this.subjectId = id;
            return this;
        }

        public Builder data(Map<String, ?> value) {
            this.data = value;
            return this;
        }

        /** Writes the event. The audit trail must not take the server down: a failure to write is logged. */
        public void record() {
            String id = Ids.next("evt");
            try {
                store.insert(id, clock.instant(), type, severity, actor, deploymentId, subjectType, subjectId, message,
                        Json.write(data));
                meters.counter("flywheel.events.recorded", "type", type, "severity", severity).increment();
            } catch (RuntimeException e) {
                LOG.error("could not record event {} ({}): {}", type, message, e.toString());
            }
            if (!"info".equals(severity)) {
                LOG.warn("[{}] {}: {}", type, actor, message);
            }
        }
    }
}
