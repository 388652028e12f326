package dev.flywheel.server.feedback;

import dev.flywheel.server.datasets.DatasetItem;
import dev.flywheel.server.datasets.DatasetStore;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** The {@code feedback_loop} tables, and the SQL that moves reviewed predictions into dataset versions. */
public final class FeedbackLoopStore {

    private final Jdbi jdbi;
    private final DatasetStore datasets;

    public FeedbackLoopStore(Jdbi jdbi, DatasetStore datasets) {
        this.jdbi = jdbi;
        this.datasets = datasets;
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    /** Creates an inactive loop; returns false if the deployment already has one. */
    public boolean create(String deploymentId, String by, Instant at) {
        return jdbi.withHandle(h -> {
            if (h.createQuery("SELECT COUNT(*) FROM feedback_loop WHERE deployment_id = :d").bind("d", deploymentId)
                    .mapTo(Long.class).one() > 0) {
                return false;
            }
            h.createUpdate("""
                    INSERT INTO feedback_loop (deployment_id, active, created_by, created_at, updated_at)
                    VALUES (:d, FALSE, :by, :at, :at)
                    """).bind("d", deploymentId).bind("by", by).bind("at", Timestamp.from(at)).execute();
            return true;
        });
    }

    public Optional<FeedbackLoop> find(String deploymentId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM feedback_loop WHERE deployment_id = :d")
                .bind("d", deploymentId)
                .map((rs, c) -> new FeedbackLoop(rs.getString("deployment_id"), rs.getBoolean("active"),
                        versions(h, deploymentId), pending(h, deploymentId), submitted(h, deploymentId),
                        rs.getString("created_by"), rs.getTimestamp("created_at").toInstant(),
                        rs.getTimestamp("updated_at").toInstant()))
                .findOne());
    }

    public void setActive(String deploymentId, boolean active, Instant at) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE feedback_loop SET active = :a, updated_at = :at WHERE deployment_id = :d")
                .bind("a", active).bind("at", Timestamp.from(at)).bind("d", deploymentId).execute());
    }

    /** Attaches a dataset version; returns false if it already was. */
    public boolean attach(String deploymentId, String versionId, String by, Instant at) {
        return jdbi.inTransaction(h -> {
            if (h.createQuery("""
                    SELECT COUNT(*) FROM feedback_loop_dataset_version WHERE deployment_id = :d AND dataset_version_id = :v
                    """).bind("d", deploymentId).bind("v", versionId).mapTo(Long.class).one() > 0) {
                return false;
            }
            h.createUpdate("""
                    INSERT INTO feedback_loop_dataset_version (deployment_id, dataset_version_id, attached_by, attached_at)
                    VALUES (:d, :v, :by, :at)
                    """).bind("d", deploymentId).bind("v", versionId).bind("by", by).bind("at", Timestamp.from(at))
                    .execute();
            touch(h, deploymentId, at);
            return true;
        });
    }

    public boolean detach(String deploymentId, String versionId, Instant at) {
        return jdbi.inTransaction(h -> {
            int n = h.createUpdate(
                    "DELETE FROM feedback_loop_dataset_version WHERE deployment_id = :d AND dataset_version_id = :v")
                    .bind("d", deploymentId).bind("v", versionId).execute();
            touch(h, deploymentId, at);
            return n == 1;
        });
    }

    private static void touch(Handle h, String deploymentId, Instant at) {
        h.createUpdate("UPDATE feedback_loop SET updated_at = :at WHERE deployment_id = :d")
                .bind("at", Timestamp.from(at)).bind("d", deploymentId).execute();
    }

    /**
     * Locks the loop's row for the rest of the transaction and says whether it is active. Flows of one deployment run
     * one at a time, also across the servers of a cluster, so no prediction can flow twice.
     */
    public boolean lockActive(Handle h, String deploymentId) {
        return h.createQuery("SELECT active FROM feedback_loop WHERE deployment_id = :d FOR UPDATE")
                .bind("d", deploymentId).mapTo(Boolean.class).findOne().orElse(false);
    }

    public List<String> versions(Handle h, String deploymentId) {
        return h.createQuery("""
                SELECT dataset_version_id FROM feedback_loop_dataset_version WHERE deployment_id = :d
                ORDER BY attached_at, dataset_version_id
                """).bind("d", deploymentId).mapTo(String.class).list();
    }

    /**
     * Reviewed, not rejected predictions that have not flowed yet, oldest first. The ORDER BY names the
     * {@code (deployment_id, status, id)} index's columns from the first so that H2 reads it in order and stops after
     * LIMIT rows instead of sorting every reviewed row (see {@code ReviewStore.NEWEST_WAITING_FIRST}).
     */
    public List<Reviewed> reviewed(Handle h, String deploymentId, int limit) {
        return h.createQuery("""
                SELECT id, input_sha256, input_content_type, input_size, reviewed_label, input_inline FROM prediction
                WHERE deployment_id = :d AND status = 'REVIEWED' AND review_action IN ('accept', 'correct')
                ORDER BY deployment_id, status, id LIMIT :limit
                """).bind("d", deploymentId).bind("limit", limit)
                .map((rs, c) -> new Reviewed(rs.getString("id"), rs.getString("input_sha256"),
                        rs.getString("input_content_type"), rs.getLong("input_size"), rs.getString("reviewed_label"),
                        rs.getBytes("input_inline")))
                .list();
    }

    /**
     * A reviewed prediction about to become an item.
     *
     * @param id the prediction
     * @param inputSha256 its input blob, which becomes the item's asset as it is
     * @param contentType the input's media type
     * @param size the input's size
     * @param label the reviewed label
     * @param inputInline the input when it lives in the prediction's row (it must reach the blob store to become an
     *     asset), else {@code null}
     */
    public record Reviewed(String id, String inputSha256, String contentType, long size, String label,
            byte[] inputInline) {}

    /** Which of these predictions already are items of the version (a retried flow). */
    public Set<String> alreadyItems(Handle h, String versionId, List<String> predictionIds) {
        return new HashSet<>(h.createQuery("""
                SELECT source_prediction_id FROM dataset_item
                WHERE dataset_version_id = :v AND source_prediction_id IN (<ids>)
                """).bind("v", versionId).bindList("ids", predictionIds).mapTo(String.class).list());
    }

    public void insertItem(Handle h, DatasetItem item) {
        datasets.insertItem(h, item);
    }

    public int markSubmitted(Handle h, List<String> predictionIds, Instant at) {
        return h.createUpdate("""
                UPDATE prediction SET status = 'SUBMITTED', submitted_at = :at WHERE id IN (<ids>) AND status = 'REVIEWED'
                """).bindList("ids", predictionIds).bind("at", Timestamp.from(at)).execute();
    }

    private static long pending(Handle h, String deploymentId) {
        return h.createQuery("""
                SELECT COUNT(*) FROM prediction WHERE deployment_id = :d AND status = 'REVIEWED'
                  AND review_action IN ('accept', 'correct')
                """).bind("d", deploymentId).mapTo(Long.class).one();
    }

    private static long submitted(Handle h, String deploymentId) {
        return h.createQuery("SELECT COUNT(*) FROM prediction WHERE deployment_id = :d AND status = 'SUBMITTED'")
                .bind("d", deploymentId).mapTo(Long.class).one();
    }
}
