package dev.flywheel.server.datasets;

import dev.flywheel.server.http.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/** The {@code dataset}, {@code dataset_version} and {@code dataset_item} tables. */
public final class DatasetStore {

    private final Jdbi jdbi;

    public DatasetStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    public void insertDataset(Dataset d) {
        jdbi.useHandle(h -> h.createUpdate("""
                INSERT INTO dataset (id, name, description, created_by, created_at)
                VALUES (:id, :name, :description, :createdBy, :createdAt)
                """).bind("id", d.id()).bind("name", d.name()).bind("description", d.description())
                .bind("createdBy", d.createdBy()).bind("createdAt", Timestamp.from(d.createdAt())).execute());
    }

    public Optional<Dataset> findDataset(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM dataset WHERE id = :id").bind("id", id)
                .map((rs, c) -> dataset(rs)).findOne());
    }

    public boolean datasetNameTaken(String name) {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM dataset WHERE name = :name")
                .bind("name", name).mapTo(Long.class).one()) > 0;
    }

    public List<Dataset> listDatasets(String afterId, int limit) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT * FROM dataset WHERE (CAST(:after AS VARCHAR) IS NULL OR id > :after) ORDER BY id LIMIT :limit
                """).bind("after", afterId).bind("limit", limit).map((rs, c) -> dataset(rs)).list());
    }

    public void insertVersion(String id, String datasetId, String name, List<String> labels, double validationFraction,
            String createdBy, java.time.Instant at) {
        jdbi.useHandle(h -> h.createUpdate("""
                INSERT INTO dataset_version (id, dataset_id, name, labels_json, validation_fraction, created_by, created_at)
                VALUES (:id, :dataset, :name, :labels, :fraction, :createdBy, :createdAt)
                """).bind("id", id).bind("dataset", datasetId).bind("name", name)
                .bind("labels", labels == null ? null : Json.write(labels)).bind("fraction", validationFraction)
                .bind("createdBy", createdBy).bind("createdAt", Timestamp.from(at)).execute());
    }

    public boolean versionNameTaken(String datasetId, String name) {
        return jdbi.withHandle(h -> h.createQuery(
                "SELECT COUNT(*) FROM dataset_version WHERE dataset_id = :d AND name = :name")
                .bind("d", datasetId).bind("name", name).mapTo(Long.class).one()) > 0;
    }

    public Optional<DatasetVersion> findVersion(String id) {
        return jdbi.withHandle(h -> h.createQuery(VERSION_SELECT + " WHERE v.id = :id").bind("id", id)
                .map((rs, c) -> version(rs)).findOne());
    }

    public List<DatasetVersion> listVersions(String datasetId, String afterId, int limit) {
        return jdbi.withHandle(h -> h.createQuery(VERSION_SELECT + """
                 WHERE v.dataset_id = :d AND (CAST(:after AS VARCHAR) IS NULL OR v.id > :after) ORDER BY v.id LIMIT :limit
                """).bind("d", datasetId).bind("after", afterId).bind("limit", limit).map((rs, c) -> version(rs)).list());
    }

    // Counts come from the (dataset_version_id, seq) index; versions hold thousands to millions of items.
    private static final String VERSION_SELECT = """
            SELECT v.*,
                   (SELECT COUNT(*) FROM dataset_item i WHERE i.dataset_version_id = v.id) AS item_count,
                   (SELECT COALESCE(MAX(seq), 0) FROM dataset_item i WHERE i.dataset_version_id = v.id) AS high_water,
                   (SELECT COUNT(*) FROM dataset_item i WHERE i.dataset_version_id = v.id AND i.split = 'train') AS train_count
            FROM dataset_version v""";

    /** Inserts an item; the item's seq is assigned by the database. */
    public void insertItem(Handle h, DatasetItem item) {
        h.createUpdate("""
                INSERT INTO dataset_item (id, dataset_version_id, asset_sha256, content_type, asset_size, label, split,
                                          source_prediction_id, created_by, created_at)
                VALUES (:id, :version, :sha, :contentType, :size, :label, :split, :prediction, :createdBy, :createdAt)
                """).bind("id", item.id()).bind("version", item.datasetVersionId()).bind("sha", item.assetSha256())
                .bind("contentType", item.contentType()).bind("size", item.assetSize()).bind("label", item.label())
                .bind("split", item.split()).bind("prediction", item.sourcePredictionId())
                .bind("createdBy", item.createdBy()).bind("createdAt", Timestamp.from(item.createdAt())).execute();
    }

    public Optional<DatasetItem> findItem(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM dataset_item WHERE id = :id").bind("id", id)
                .map((rs, c) -> item(rs)).findOne());
    }

    /**
     * Items of a version in insertion order.
     *
     * @param afterSeq only items after this position, or {@code null}
     * @param upToSeq only items up to this position (a run's high-water mark), or {@code null}
     * @param split only this split, or {@code null}
     * @param label only this label, or {@code null}
     */
    public List<DatasetItem> listItems(String versionId, Long afterSeq, Long upToSeq, String split, String label, int limit) {
        return jdbi.withHandle(h -> itemQuery(h, versionId, afterSeq, upToSeq, split, label).bind("limit", limit)
                .map((rs, c) -> item(rs)).list());
    }

    /** Streams every item of a version up to a position, without holding them all in memory. */
    public void forEachItem(String versionId, Long upToSeq, Consumer<DatasetItem> action) {
        jdbi.useHandle(h -> {
            try (var stream = itemQuery(h, versionId, null, upToSeq, null, null).bind("limit", Integer.MAX_VALUE)
                    .setFetchSize(500).map((rs, c) -> item(rs)).stream()) {
                stream.forEach(action);
            }
        });
    }

    private static Query itemQuery(Handle h, String versionId, Long afterSeq, Long upToSeq, String split, String label) {
        var sql = new StringBuilder("SELECT * FROM dataset_item WHERE dataset_version_id = :v");
        if (afterSeq != null) {
            sql.append(" AND seq > :after");
        }
        if (upToSeq != null) {
            sql.append(" AND seq <= :upTo");
        }
        if (split != null) {
            sql.append(" AND split = :split");
        }
        if (label != null) {
            sql.append(" AND label = :label");
        }
        sql.append(" ORDER BY seq LIMIT :limit");
        Query q = h.createQuery(sql.toString()).bind("v", versionId);
        if (afterSeq != null) {
            q.bind("after", afterSeq);
        }
        if (upToSeq != null) {
            q.bind("upTo", upToSeq);
        }
        if (split != null) {
            q.bind("split", split);
        }
        if (label != null) {
            q.bind("label", label);
        }
        return q;
    }

    private static Dataset dataset(ResultSet rs) throws SQLException {
        return new Dataset(rs.getString("id"), rs.getString("name"), rs.getString("description"),
                rs.getString("created_by"), rs.getTimestamp("created_at").toInstant());
    }

    @SuppressWarnings("unchecked")
    private static DatasetVersion version(ResultSet rs) throws SQLException {
        String labels = rs.getString("labels_json");
        long count = rs.getLong("item_count");
        long train = rs.getLong("train_count");
        return new DatasetVersion(rs.getString("id"), rs.getString("dataset_id"), rs.getString("name"),
                labels == null ? null : readLabels(labels), rs.getDouble("validation_fraction"), count,
                rs.getLong("high_water"), train, count - train, rs.getString("created_by"),
                rs.getTimestamp("created_at").toInstant());
    }

    private static List<String> readLabels(String json) {
        try {
            return List.of(Json.mapper().readValue(json, String[].class));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("stored labels are corrupt", e);
        }
    }

    private static DatasetItem item(ResultSet rs) throws SQLException {
        return new DatasetItem(rs.getString("id"), rs.getLong("seq"), rs.getString("dataset_version_id"),
                rs.getString("asset_sha256"), rs.getString("content_type"), rs.getLong("asset_size"),
                rs.getString("label"), rs.getString("split"), rs.getString("source_prediction_id"),
                rs.getString("created_by"), rs.getTimestamp("created_at").toInstant());
    }
}
