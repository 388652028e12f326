package dev.flywheel.server.events;

import dev.flywheel.server.http.Json;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/** The {@code event} table. */
public final class EventStore {

    private final Jdbi jdbi;

    public EventStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public void insert(String id, Instant at, String type, String severity, String actor, String deploymentId,
            String subjectType, String subjectId, String message, String dataJson) {
        jdbi.useHandle(h -> h.createUpdate("""
                INSERT INTO event (id, occurred_at, type, severity, actor, deployment_id, subject_type, subject_id,
                                   message, data_json)
                VALUES (:id, :at, :type, :severity, :actor, :deployment, :subjectType, :subjectId, :message, :data)
                """)
                .bind("id", id)
                .bind("at", Timestamp.from(at))
                .bind("type", type)
                .bind("severity", severity)
                .bind("actor", actor)
                .bind("deployment", deploymentId)
                .bind("subjectType", subjectType)
                .bind("subjectId", subjectId)
                .bind("message", message)
                .bind("data", dataJson)
                .execute());
    }

    /**
     * Events newest first.
     *
     * @param filter which events
     * @param beforeSeq only events older than this position, or {@code null}
     * @param limit the most rows
     */
    public List<Event> list(EventFilter filter, Long beforeSeq, int limit) {
        return jdbi.withHandle(h -> {
            var sql = new StringBuilder("SELECT * FROM event WHERE 1 = 1");
            if (filter.deploymentId() != null) {
                sql.append(" AND deployment_id = :deployment");
            }
            if (filter.typePrefix() != null) {
                sql.append(" AND type LIKE :type");
            }
            if (filter.subjectId() != null) {
                sql.append(" AND subject_id = :subject");
            }
            if (filter.severity() != null) {
                sql.append(" AND severity = :severity");
            }
            if (filter.since() != null) {
                sql.append(" AND occurred_at >= :since");
            }
            if (beforeSeq != null) {
                sql.append(" AND seq < :before");
            }
            sql.append(" ORDER BY seq DESC LIMIT :limit");
            Query q = h.createQuery(sql.toString());
            if (filter.deploymentId() != null) {
                q.bind("deployment", filter.deploymentId());
            }
            if (filter.typePrefix() != null) {
                q.bind("type", filter.typePrefix().replace("%", "\\%").replace("_", "\\_") + "%");
            }
            if (filter.subjectId() != null) {
                q.bind("subject", filter.subjectId());
            }
            if (filter.severity() != null) {
                q.bind("severity", filter.severity());
            }
            if (filter.since() != null) {
                q.bind("since", Timestamp.from(filter.since()));
            }
            if (beforeSeq != null) {
                q.bind("before", beforeSeq);
            }
            return q.bind("limit", limit)
                    .map((rs, ctx) -> new Event(
                            rs.getString("id"),
                            rs.getLong("seq"),
                            rs.getTimestamp("occurred_at").toInstant(),
                            rs.getString("type"),
                            rs.getString("severity"),
                            rs.getString("actor"),
                            rs.getString("deployment_id"),
                            rs.getString("subject_type"),
                            rs.getString("subject_id"),
                            rs.getString("message"),
                            Json.readMap(rs.getString("data_json"))))
                    .list();
        });
    }
}
