package dev.flywheel.server.serving;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.server.persistence.Database;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A server stopped gracefully under concurrent load has lost no prediction it acknowledged, in durable and in async
 * capture mode: every prediction id a client got back is in the database when it is opened again. Written once and
 * run on H2 and on PostgreSQL.
 */
public abstract class GracefulShutdownContract {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;
    private static final int THREADS = 8;

    protected abstract TestDatabase.Kind backend();

    @Test
    void aGracefulStopUnderLoadLosesNoAcknowledgedPrediction() throws Exception {
        Path dir = Files.createTempDirectory("flywheel-shutdown-test");
        try (TestDatabase db = TestDatabase.create(backend(), dir)) {
            Set<String> durableIds = ConcurrentHashMap.newKeySet();
            Set<String> asyncIds = ConcurrentHashMap.newKeySet();
            // One server per JVM can load libtorch, so both capture modes share this one.
            TestServer server = TestServer.start(db, dir);
            try {
                Http http = server.http();
                String version = Fixtures.upload(http, ADMIN, "iris", Fixtures.FEATURES).path("id").asText();
                String durable = Fixtures.deploy(http, ADMIN, "iris-durable", version, "durable");
                String async = Fixtures.deploy(http, ADMIN, "iris-async", version, "async");

                // Progress, not time: stop once every client has had answers from both deployments.
                var warmedUp = new CountDownLatch(THREADS * 10);
                List<Thread> clients = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    boolean useDurable = t % 2 == 0;
                    String deployment = useDurable ? durable : async;
                    Set<String> ids = useDurable ? durableIds : asyncIds;
                    Thread client = new Thread(() -> predictUntilStopped(http, deployment, ids, warmedUp));
                    client.start();
                    clients.add(client);
                }
                assertThat(warmedUp.await(4, TimeUnit.MINUTES)).as("clients got answers").isTrue();
                server.close();
                for (Thread c : clients) {
                    c.join(TimeUnit.MINUTES.toMillis(2));
                    assertThat(c.isAlive()).as("client stopped once the server was gone").isFalse();
                }
            } finally {
                server.close();
            }

            assertThat(durableIds).isNotEmpty();
            assertThat(asyncIds).isNotEmpty();
            Set<String> stored;
            try (Database reopened = Database.open(db.url(), db.user(), db.password())) {
                stored = new HashSet<>(reopened.jdbi().withHandle(h -> h.createQuery("SELECT id FROM prediction")
                        .mapTo(String.class).list()));
            }
            assertThat(stored).containsAll(durableIds);
            assertThat(stored).containsAll(asyncIds);
        }
    }

    /** Predicts in a loop, keeping every acknowledged id, until the server stops answering. */
    private static void predictUntilStopped(Http http, String deployment, Set<String> ids, CountDownLatch warmedUp) {
        for (int i = 0; i < 1_000_000; i++) {
            Http.Response r;
            try {
                r = http.post("/api/deployments/" + deployment + "/predict", ADMIN, "{\"features\": [6.0, 2.9, 4.5, 1.5]}");
            } catch (UncheckedIOException | IllegalStateException e) {
                return;
            }
            if (r.status() == 200) {
                ids.add(r.json().path("prediction_id").asText());
                warmedUp.countDown();
            } else if (r.status() != 503) {
                throw new AssertionError("unexpected answer while predicting: " + r);
            }
        }
    }
}
