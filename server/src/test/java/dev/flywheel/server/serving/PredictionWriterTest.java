package dev.flywheel.server.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.persistence.Database;
import dev.flywheel.server.persistence.Ids;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The prediction writer on the real schema: everything accepted is written, even at close; bad rows fail alone. */
class PredictionWriterTest {

    @TempDir
    Path dir;

    private Database db;
    private PredictionStore store;
    private SimpleMeterRegistry meters;

    @BeforeEach
    void open() {
        db = Database.open(Database.h2FileUrl(dir.resolve("db")), null, null);
        Timestamp now = Timestamp.from(Instant.now());
        db.jdbi().useHandle(h -> {
            h.execute("INSERT INTO model (id, name, created_by, created_at) VALUES ('mdl_1', 'm', 'test', ?)", now);
            h.execute("INSERT INTO model_version (id, model_id, version, format, metadata_json, artifact_file, "
                    + "artifact_sha256, artifact_size, created_by, created_at) VALUES ('mv_1', 'mdl_1', 1, "
                    + "'torchscript', '{}', 'model.pt', 'ab', 1, 'test', ?)", now);
            h.execute("INSERT INTO deployment (id, name, primary_model_version_id, settings_json, created_by, created_at) "
                    + "VALUES ('dep_1', 'd', 'mv_1', '{}', 'test', ?)", now);
        });
        store = new PredictionStore(db.jdbi());
        meters = new SimpleMeterRegistry();
    }

    @AfterEach
    void close() {
        db.close();
    }

    @Test
    void closeWritesEveryAcceptedRowThenRefusesMore() throws Exception {
        var writer = new PredictionWriter(store, db.availability(), 100, 100_000, meters);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            futures.add(writer.submit(row("dep_1"), false));
        }
        writer.close();
        for (var f : futures) {
            assertThat(f).isCompleted();
            f.get();
        }
        assertThat(count()).isEqualTo(3000);
        var batches = meters.get("flywheel.prediction.writer.batch.size").summary();
        assertThat(batches.totalAmount()).isEqualTo(3000);
        assertThat(batches.max()).isLessThanOrEqualTo(100);
        assertThat(meters.get("flywheel.prediction.writer.queue").gauge().value()).isZero();

        assertThatThrownBy(() -> writer.submit(row("dep_1"), false))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(503));
        assertThat(count()).isEqualTo(3000);
    }

    @Test
    void aRowThatCannotBeStoredFailsAloneAndItsNeighboursAreWritten() throws Exception {
        var writer = new PredictionWriter(store, db.availability(), 100, 100_000, meters);
        List<CompletableFuture<Void>> good = new ArrayList<>();
        List<CompletableFuture<Void>> bad = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            good.add(writer.submit(row("dep_1"), false));
            if (i % 50 == 0) {
                bad.add(writer.submit(row("dep_unknown"), false));
            }
        }
        for (var f : good) {
            f.get(1, TimeUnit.MINUTES);
        }
        for (var f : bad) {
            assertThatThrownBy(() -> f.get(1, TimeUnit.MINUTES)).isInstanceOf(ExecutionException.class);
        }
        writer.close();
        assertThat(count()).isEqualTo(200);
        assertThat(meters.get("flywheel.prediction.writer.failures").counter().count()).isEqualTo(bad.size());
    }

    @Test
    void storedRowsReadBackAsWritten() {
        var writer = new PredictionWriter(store, db.availability(), 10, 100, meters);
        Prediction p = row("dep_1");
        writer.submit(p, false).join();
        writer.close();
        assertThat(store.find(p.id())).hasValueSatisfying(back -> {
            assertThat(back.label()).isEqualTo("a");
            assertThat(back.scores()).containsExactly(Map.entry("a", 0.75), Map.entry("b", 0.25));
            assertThat(back.latencyMs()).isEqualTo(1.5);
            assertThat(back.status()).isEqualTo(Prediction.TO_REVIEW);
            assertThat(back.createdAt()).isEqualTo(p.createdAt());
        });
    }

    private static Prediction row(String deployment) {
        var scores = new java.util.LinkedHashMap<String, Double>();
        scores.put("a", 0.75);
        scores.put("b", 0.25);
        return new Prediction(Ids.next("prd"), deployment, "mv_1", Prediction.SERVED, "a", 0.75,
                scores, 1.5, "application/json", "0".repeat(64), 10, Instant.parse("2026-01-02T03:04:05.123456Z"));
    }

    private long count() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT COUNT(*) FROM prediction").mapTo(Long.class).one());
    }
}
