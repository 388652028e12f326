package dev.flywheel.server.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.server.persistence.Database;
import dev.flywheel.server.serving.Prediction;
import dev.flywheel.server.testing.TestDatabase;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The review queue's queries, which are written for their indexes (bounded ranges, ORDER BYs naming the index's
 * columns, counts split into disjoint parts), against the plain statement of what they mean, on a table with every
 * mix of waiting/reviewed, confidence, flag, shadow outcome and sample bucket. On H2 and PostgreSQL.
 */
abstract class ReviewQueueQueriesContract {

    private static final String AGREES_OR_NO_SHADOW = "(shadow_status IS NULL OR shadow_status <> 'ok' OR shadow_label = label)";
    private static final String DISAGREES = "(shadow_status = 'ok' AND shadow_label <> label)";

    @TempDir
    Path dir;

    abstract TestDatabase.Kind backend();

    @Test
    void theIndexedQueriesAnswerWhatThePlainOnesSay() {
        try (var test = TestDatabase.create(backend(), dir); var db = Database.open(test.url(), test.user(),
                test.password())) {
            Jdbi jdbi = db.jdbi();
            fill(jdbi);
            var store = new ReviewStore(jdbi);
            for (double t : new double[] {0.5, 0.8}) {
                for (int buckets : new int[] {10_000, 3_000}) {
                    assertThat(store.waiting("dep_1", t, buckets).anomalies()).as("anomalies at %s", t)
                            .isEqualTo(count(jdbi, "confidence < " + t + " OR flag_reason IS NOT NULL OR " + DISAGREES));
                    assertThat(store.waiting("dep_1", t, buckets).sampled()).as("sampled at %s, %s", t, buckets)
                            .isEqualTo(count(jdbi, "confidence >= " + t + " AND flag_reason IS NULL AND review_bucket < "
                                    + buckets + " AND " + AGREES_OR_NO_SHADOW));
                    assertThat(ids(store.sampled("dep_1", t, buckets, 25))).isEqualTo(list(jdbi, "confidence >= " + t
                            + " AND flag_reason IS NULL AND review_bucket < " + buckets + " AND " + AGREES_OR_NO_SHADOW,
                            "id DESC", 25));
                }
                assertThat(ids(store.lowConfidence("dep_1", t, 25))).isEqualTo(list(jdbi, "confidence < " + t
                        + " AND flag_reason IS NULL AND " + AGREES_OR_NO_SHADOW, "confidence, id", 25));
                assertThat(store.recentOrdinary("dep_1", t, 40).stream().map(ReviewService.Candidate::id).toList())
                        .isEqualTo(list(jdbi, "confidence >= " + t + " AND flag_reason IS NULL AND "
                                + AGREES_OR_NO_SHADOW, "id DESC", 40));
            }
            assertThat(ids(store.flagged("dep_1", 30))).hasSize(30)
                    .isEqualTo(list(jdbi, "flag_reason IS NOT NULL", "flagged_at, id", 30));
            assertThat(ids(store.disagreements("dep_1", 30))).hasSize(30)
                    .isEqualTo(list(jdbi, "flag_reason IS NULL AND " + DISAGREES, "id DESC", 30));
        }
    }

    /** 600 predictions of one deployment, every combination of the queue's conditions, in a seeded mix. */
    private static void fill(Jdbi jdbi) {
        Timestamp now = Timestamp.from(Instant.parse("2026-11-25T10:00:00Z"));
        var random = new Random(7);
        jdbi.useHandle(h -> {
            h.execute("INSERT INTO model (id, name, created_by, created_at) VALUES ('mdl_1', 'm', 'test', ?)", now);
            h.execute("INSERT INTO model_version (id, model_id, version, format, metadata_json, artifact_file, "
                    + "artifact_sha256, artifact_size, created_by, created_at) VALUES ('mv_1', 'mdl_1', 1, "
                    + "'torchscript', '{}', 'model.pt', 'ab', 1, 'test', ?)", now);
            h.execute("INSERT INTO deployment (id, name, primary_model_version_id, settings_json, created_by, "
                    + "created_at) VALUES ('dep_1', 'd', 'mv_1', '{}', 'test', ?)", now);
            var batch = h.prepareBatch("INSERT INTO prediction (id, deployment_id, model_version_id, source, status, "
                    + "input_sha256, input_content_type, input_size, label, confidence, scores_json, created_at, "
                    + "flag_reason, flagged_by, flagged_at, shadow_model_version_id, shadow_status, shadow_label, "
                    + "review_bucket) VALUES (:id, 'dep_1', 'mv_1', 'predict', :status, 'sha', 'application/json', 10, "
                    + ":label, :confidence, '{}', :at, :flag, :flagger, :flaggedAt, :shadowVersion, :shadowStatus, "
                    + ":shadowLabel, :bucket)");
            for (int i = 0; i < 600; i++) {
                String label = "l" + random.nextInt(3);
                boolean flagged = random.nextInt(6) == 0;
                int shadow = random.nextInt(4); // none, ok agreeing, ok disagreeing, error
                batch.bind("id", String.format("prd_%06d", i))
                        .bind("status", random.nextInt(5) == 0 ? "REVIEWED" : "TO_REVIEW")
                        .bind("label", label)
                        // Ties on purpose: the orders must agree on them too.
                        .bind("confidence", Math.round(random.nextDouble() * 20) / 20.0)
                        .bind("at", now)
                        .bind("flag", flagged ? "looks wrong" : null)
                        .bind("flagger", flagged ? "rita" : null)
                        // Some flags at the same moment, so that the id decides.
                        .bind("flaggedAt", flagged ? Timestamp.from(now.toInstant().plusSeconds(random.nextInt(40))) : null)
                        .bind("shadowVersion", shadow == 0 ? null : "mv_1")
                        .bind("shadowStatus", shadow == 0 ? null : shadow == 3 ? "error" : "ok")
                        .bind("shadowLabel", shadow == 1 ? label : shadow == 2 ? label + "x" : null)
                        .bind("bucket", random.nextInt(10_000))
                        .add();
            }
            batch.execute();
        });
    }

    private static long count(Jdbi jdbi, String condition) {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM prediction WHERE deployment_id = 'dep_1' AND "
                + "status = 'TO_REVIEW' AND (" + condition + ")").mapTo(Long.class).one());
    }

    private static List<String> list(Jdbi jdbi, String condition, String order, int limit) {
        return jdbi.withHandle(h -> h.createQuery("SELECT id FROM prediction WHERE deployment_id = 'dep_1' AND "
                + "status = 'TO_REVIEW' AND (" + condition + ") ORDER BY " + order + " LIMIT " + limit)
                .mapTo(String.class).list());
    }

    private static List<String> ids(List<Prediction> predictions) {
        return predictions.stream().map(Prediction::id).toList();
    }
}
