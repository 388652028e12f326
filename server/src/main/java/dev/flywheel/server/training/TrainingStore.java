package dev.flywheel.server.training;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.flywheel.server.http.Json;
import dev.flywheel.spi.provisioner.JobHandle;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** The {@code continuous_training}, {@code training_run}, {@code training_run_log} and {@code trigger_state} tables. */
public final class TrainingStore {

    private final Jdbi jdbi;

    public TrainingStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    // ---- continuous training settings

    public Optional<ContinuousTraining> findConfig(String deploymentId) {
        return jdbi.withHandle(h -> findConfig(h, deploymentId, false));
    }

    /** Reads the settings, optionally locking the row so that run numbers are handed out one at a time. */
    public Optional<ContinuousTraining> findConfig(Handle h, String deploymentId, boolean lock) {
        return h.createQuery("SELECT * FROM continuous_training WHERE deployment_id = :d" + (lock ? " FOR UPDATE" : ""))
                .bind("d", deploymentId).map((rs, c) -> config(rs)).findOne();
    }

    public void saveConfig(ContinuousTraining c) {
        jdbi.useTransaction(h -> {
            boolean exists = h.createQuery("SELECT COUNT(*) FROM continuous_training WHERE deployment_id = :d")
                    .bind("d", c.deploymentId()).mapTo(Long.class).one() > 0;
            String sql = exists ? """
                    UPDATE continuous_training SET active = :active, experiment_name = :name, gpu_type = :gpu,
                        allow_cpu_fallback = :fallback, provisioner = :provisioner, provisioner_config_json = :pconfig,
                        trainer_json = :trainer, triggers_json = :triggers, cooldown_seconds = :cooldown,
                        timeout_seconds = :timeout, updated_by = :by, updated_at = :at
                    WHERE deployment_id = :d
                    """ : """
                    INSERT INTO continuous_training (deployment_id, active, experiment_name, gpu_type, allow_cpu_fallback,
                        provisioner, provisioner_config_json, trainer_json, triggers_json, cooldown_seconds,
                        timeout_seconds, run_counter, updated_by, updated_at)
                    VALUES (:d, :active, :name, :gpu, :fallback, :provisioner, :pconfig, :trainer, :triggers, :cooldown,
                        :timeout, 0, :by, :at)
                    """;
            h.createUpdate(sql).bind("d", c.deploymentId()).bind("active", c.active()).bind("name", c.experimentName())
                    .bind("gpu", c.gpuType()).bind("fallback", c.allowCpuFallback()).bind("provisioner", c.provisioner())
                    .bind("pconfig", Json.write(c.provisionerConfig())).bind("trainer", Json.write(c.trainer()))
                    .bind("triggers", Json.write(c.triggers())).bind("cooldown", c.cooldown().toSeconds())
                    .bind("timeout", c.timeout().toSeconds()).bind("by", c.updatedBy())
                    .bind("at", Timestamp.from(c.updatedAt())).execute();
        });
    }

    public void setActive(String deploymentId, boolean active, String by, Instant at) {
        jdbi.useHandle(h -> h.createUpdate("""
                UPDATE continuous_training SET active = :a, updated_by = :by, updated_at = :at WHERE deployment_id = :d
                """).bind("a", active).bind("by", by).bind("at", Timestamp.from(at)).bind("d", deploymentId).execute());
    }

    public List<String> activeDeployments() {
        return jdbi.withHandle(h -> h.createQuery("SELECT deployment_id FROM continuous_training WHERE active = TRUE")
                .mapTo(String.class).list());
    }

    public void setRunCounter(Handle h, String deploymentId, int counter) {
        h.createUpdate("UPDATE continuous_training SET run_counter = :n WHERE deployment_id = :d")
                .bind("n", counter).bind("d", deploymentId).execute();
    }

    private static ContinuousTraining config(ResultSet rs) throws SQLException {
        return new ContinuousTraining(rs.getString("deployment_id"), rs.getBoolean("active"),
                rs.getString("experiment_name"), rs.getString("gpu_type"), rs.getBoolean("allow_cpu_fallback"),
                rs.getString("provisioner"), Json.readMap(rs.getString("provisioner_config_json")),
                read(rs.getString("trainer_json"), new TypeReference<TrainerSpec>() {}),
                read(rs.getString("triggers_json"), new TypeReference<List<TriggerSpec>>() {}),
                Duration.ofSeconds(rs.getLong("cooldown_seconds")), Duration.ofSeconds(rs.getLong("timeout_seconds")),
                rs.getInt("run_counter"), rs.getString("updated_by"), rs.getTimestamp("updated_at").toInstant());
    }

    // ---- runs

    /** What the store keeps of a run beyond what the API shows: the provisioner's side of it. */
    public record RunState(TrainingRun run, Map<String, Object> provisionerConfig, boolean allowCpuFallback,
            JobHandle handle, Instant nextAttemptAt, long logOffset, Instant heartbeatAt, Duration timeout) {}

    public void insertRun(Handle h, TrainingRun r, Map<String, Object> provisionerConfig, boolean allowCpuFallback,
            Duration timeout) {
        h.createUpdate("""
                INSERT INTO training_run (id, deployment_id, number, name, status, trigger_type, trigger_reason,
                    trigger_evidence_json, base_model_version_id, dataset_versions_json, provisioner,
                    provisioner_config_json, gpu_type, allow_cpu_fallback, trainer_json, attempts, log_offset,
                    timeout_seconds, created_by, created_at)
                VALUES (:id, :d, :n, :name, :status, :ttype, :treason, :tevidence, :base, :datasets, :provisioner,
                    :pconfig, :gpu, :fallback, :trainer, 0, 0, :timeout, :by, :at)
                """).bind("id", r.id()).bind("d", r.deploymentId()).bind("n", r.number()).bind("name", r.name())
                .bind("status", r.status()).bind("ttype", r.trigger().type()).bind("treason", r.trigger().reason())
                .bind("tevidence", Json.write(r.trigger().evidence())).bind("base", r.baseModelVersionId())
                .bind("datasets", Json.write(r.datasetVersions())).bind("provisioner", r.provisioner())
                .bind("pconfig", Json.write(provisionerConfig)).bind("gpu", r.gpuType())
                .bind("fallback", allowCpuFallback).bind("trainer", Json.write(r.trainer()))
                .bind("timeout", timeout.toSeconds()).bind("by", r.createdBy())
                .bind("at", Timestamp.from(r.createdAt())).execute();
    }

    public Optional<TrainingRun> findRun(String id) {
        return findState(id).map(RunState::run);
    }

    public Optional<RunState> findState(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM training_run WHERE id = :id").bind("id", id)
                .map((rs, c) -> state(rs)).findOne());
    }

    /** A deployment's runs, newest first. */
    public List<TrainingRun> listRuns(String deploymentId, Integer beforeNumber, int limit) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT * FROM training_run WHERE deployment_id = :d AND (CAST(:before AS INTEGER) IS NULL OR number < :before)
                ORDER BY number DESC LIMIT :limit
                """).bind("d", deploymentId).bind("before", beforeNumber).bind("limit", limit)
                .map((rs, c) -> state(rs).run()).list());
    }

    public Optional<TrainingRun> latestRun(Handle h, String deploymentId) {
        return h.createQuery("SELECT * FROM training_run WHERE deployment_id = :d ORDER BY number DESC LIMIT 1")
                .bind("d", deploymentId).map((rs, c) -> state(rs).run()).findOne();
    }

    public Optional<TrainingRun> latestRun(String deploymentId) {
        return jdbi.withHandle(h -> latestRun(h, deploymentId));
    }

    /** The newest run a trigger started (not one started by hand): where the cooldown counts from. */
    public Optional<TrainingRun> latestTriggeredRun(String deploymentId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM training_run WHERE deployment_id = :d"
                + " AND trigger_type <> :manual ORDER BY number DESC LIMIT 1").bind("d", deploymentId)
                .bind("manual", TrainingRunService.MANUAL).map((rs, c) -> state(rs).run()).findOne());
    }

    /** Runs that have not ended, oldest first: what the supervisor looks after. */
    public List<RunState> inFlight() {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT * FROM training_run WHERE status IN ('QUEUED', 'PROVISIONING', 'RUNNING') ORDER BY created_at
                """).map((rs, c) -> state(rs)).list());
    }

    /**
     * Moves a run from one status to another; returns false when it was no longer in the expected status (another
     * node or a cancel got there first).
     */
    public boolean transition(String id, String from, String to, String message, Instant at) {
        boolean ending = !TrainingRun.IN_FLIGHT.contains(to);
        return jdbi.withHandle(h -> h.createUpdate("UPDATE training_run SET status = :to, message = COALESCE(:msg, message)"
                + (ending ? ", finished_at = :at" : "") + (TrainingRun.RUNNING.equals(to) ? ", started_at = :at" : "")
                + " WHERE id = :id AND status = :from")
                .bind("to", to).bind("msg", message).bind("at", Timestamp.from(at)).bind("id", id).bind("from", from)
                .execute()) == 1;
    }

    public void submitted(String id, JobHandle handle, String device, Instant at) {
        jdbi.useHandle(h -> h.createUpdate("""
                UPDATE training_run SET job_handle_json = :handle, device = COALESCE(:device, device), heartbeat_at = :at,
                    attempts = attempts + 1 WHERE id = :id
                """).bind("handle", Json.write(handle)).bind("device", device).bind("at", Timestamp.from(at))
                .bind("id", id).execute());
    }

    public void retryLater(String id, int attempts, Instant next, String message) {
        jdbi.useHandle(h -> h.createUpdate("""
                UPDATE training_run SET status = 'QUEUED', attempts = :attempts, next_attempt_at = :next, message = :msg
                WHERE id = :id
                """).bind("attempts", attempts).bind("next", Timestamp.from(next)).bind("msg", message).bind("id", id)
                .execute());
    }

    public void device(String id, String device) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE training_run SET device = :device WHERE id = :id")
                .bind("device", device).bind("id", id).execute());
    }

    public void heartbeat(String id, Instant at) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE training_run SET heartbeat_at = :at WHERE id = :id")
                .bind("at", Timestamp.from(at)).bind("id", id).execute());
    }

    public void result(String id, String versionId, Map<String, Object> metrics) {
        jdbi.useHandle(h -> h.createUpdate("""
                UPDATE training_run SET result_model_version_id = :v, metrics_json = :m WHERE id = :id
                """).bind("v", versionId).bind("m", Json.write(metrics)).bind("id", id).execute());
    }

    // ---- logs

    /** Appends to a run's console; {@code providerOffset} is how far the provisioner's log has been read. */
    public void appendLog(String runId, String text, long providerOffset) {
        jdbi.useTransaction(h -> {
            long start = h.createQuery("""
                    SELECT COALESCE(MAX(start + CHAR_LENGTH(text)), 0) FROM training_run_log WHERE run_id = :r
                    """).bind("r", runId).mapTo(Long.class).one();
            if (!text.isEmpty()) {
                h.createUpdate("INSERT INTO training_run_log (run_id, start, text) VALUES (:r, :s, :t)")
                        .bind("r", runId).bind("s", start).bind("t", text).execute();
            }
            if (providerOffset >= 0) {
                h.createUpdate("UPDATE training_run SET log_offset = :o WHERE id = :r").bind("o", providerOffset)
                        .bind("r", runId).execute();
            }
        });
    }

    /**
     * The console from a character offset on.
     *
     * @return the text and the offset to ask from next time
     */
    public Map.Entry<String, Long> readLog(String runId, long from) {
        return jdbi.withHandle(h -> {
            var sb = new StringBuilder();
            long end = from;
            for (var row : h.createQuery("""
                    SELECT start, text FROM training_run_log WHERE run_id = :r AND start + CHAR_LENGTH(text) > :from
                    ORDER BY start
                    """).bind("r", runId).bind("from", from).mapToMap().list()) {
                long start = ((Number) row.get("start")).longValue();
                String text = (String) row.get("text");
                int skip = (int) Math.max(0, from - start);
                sb.append(text, skip, text.length());
                end = start + text.length();
            }
            return Map.entry(sb.toString(), end);
        });
    }

    // ---- trigger state

    public Optional<Instant> lastEvaluated(String deploymentId, int index) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT evaluated_at FROM trigger_state WHERE deployment_id = :d AND trigger_index = :i
                """).bind("d", deploymentId).bind("i", index).mapTo(Timestamp.class).findOne().map(Timestamp::toInstant));
    }

    public void saveTriggerState(String deploymentId, int index, String type, Instant at, boolean fired, String reason,
            Map<String, Object> evidence) {
        jdbi.useTransaction(h -> {
            int n = h.createUpdate("""
                    UPDATE trigger_state SET trigger_type = :t, evaluated_at = :at, fired = :f, reason = :r, evidence_json = :e
                    WHERE deployment_id = :d AND trigger_index = :i
                    """).bind("t", type).bind("at", Timestamp.from(at)).bind("f", fired).bind("r", reason)
                    .bind("e", Json.write(evidence)).bind("d", deploymentId).bind("i", index).execute();
            if (n == 0) {
                h.createUpdate("""
                        INSERT INTO trigger_state (deployment_id, trigger_index, trigger_type, evaluated_at, fired, reason,
                            evidence_json) VALUES (:d, :i, :t, :at, :f, :r, :e)
                        """).bind("t", type).bind("at", Timestamp.from(at)).bind("f", fired).bind("r", reason)
                        .bind("e", Json.write(evidence)).bind("d", deploymentId).bind("i", index).execute();
            }
        });
    }

    /** Each trigger's last decision, in trigger order. */
    public List<Map<String, Object>> triggerStates(String deploymentId) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT trigger_index, trigger_type, evaluated_at, fired, reason, evidence_json FROM trigger_state
                WHERE deployment_id = :d ORDER BY trigger_index
                """).bind("d", deploymentId).map((rs, c) -> {
                    var m = new java.util.LinkedHashMap<String, Object>();
                    m.put("index", rs.getInt("trigger_index"));
                    m.put("type", rs.getString("trigger_type"));
                    m.put("evaluated_at", rs.getTimestamp("evaluated_at").toInstant());
                    m.put("fired", rs.getBoolean("fired"));
                    m.put("reason", rs.getString("reason"));
                    m.put("evidence", Json.readMap(rs.getString("evidence_json")));
                    return (Map<String, Object>) m;
                }).list());
    }

    public void clearTriggerStates(String deploymentId) {
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM trigger_state WHERE deployment_id = :d").bind("d", deploymentId)
                .execute());
    }

    private static RunState state(ResultSet rs) throws SQLException {
        String metrics = rs.getString("metrics_json");
        String handle = rs.getString("job_handle_json");
        var run = new TrainingRun(rs.getString("id"), rs.getString("deployment_id"), rs.getInt("number"),
                rs.getString("name"), rs.getString("status"),
                new TrainingRun.Trigger(rs.getString("trigger_type"), rs.getString("trigger_reason"),
                        Json.readMap(rs.getString("trigger_evidence_json"))),
                rs.getString("base_model_version_id"),
                read(rs.getString("dataset_versions_json"), new TypeReference<List<TrainingRun.DatasetSnapshot>>() {}),
                rs.getString("provisioner"), rs.getString("gpu_type"), rs.getString("device"),
                read(rs.getString("trainer_json"), new TypeReference<TrainerSpec>() {}), rs.getInt("attempts"),
                rs.getString("message"), metrics == null ? null : Json.readMap(metrics),
                rs.getString("result_model_version_id"), rs.getString("created_by"),
                rs.getTimestamp("created_at").toInstant(), instant(rs, "started_at"), instant(rs, "finished_at"));
        return new RunState(run, Json.readMap(rs.getString("provisioner_config_json")), rs.getBoolean("allow_cpu_fallback"),
                handle == null ? null : read(handle, new TypeReference<JobHandle>() {}), instant(rs, "next_attempt_at"),
                rs.getLong("log_offset"), instant(rs, "heartbeat_at"), Duration.ofSeconds(rs.getLong("timeout_seconds")));
    }

    private static Instant instant(ResultSet rs, String col) throws SQLException {
        Timestamp t = rs.getTimestamp(col);
        return t == null ? null : t.toInstant();
    }

    private static <T> T read(String json, TypeReference<T> type) {
        try {
            return Json.mapper().readValue(json, type);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("stored JSON is corrupt: " + e.getOriginalMessage(), e);
        }
    }
}
