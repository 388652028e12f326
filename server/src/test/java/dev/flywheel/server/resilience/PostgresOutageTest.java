package dev.flywheel.server.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.config.ServerSettings;
import dev.flywheel.server.persistence.Database;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.RawHttp;
import dev.flywheel.server.testing.TcpProxy;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL going away under load, for one server: its connections pass through a {@link TcpProxy} that the test
 * cuts, first for a second (a restart: every connection dropped), then for 15 s (an outage). The shared PostgreSQL
 * cluster itself is never touched, so tests running beside this one are not disturbed.
 *
 * <p>While the database is away every API request is answered quickly with 503 and {@code Retry-After}, with no
 * internals in the message; afterwards the same server answers again without a restart; and no prediction that was
 * acknowledged — durable or async — is lost.
 */
class PostgresOutageTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;
    private static final long OUTAGE_MS = 15_000;
    /** How long after the cut the first requests may still wait for a connection (the pool's timeout, 5 s). */
    private static final long DETECTION_MS = 6_000;

    /** One answer the load got. */
    private record Answer(String kind, long startedMs, long latencyMs, int status, String retryAfter, String body) {}

    @Test
    void aRestartAndAFifteenSecondOutageAreAnswered503AndRecoverWithoutARestart() throws Exception {
        TestDatabase.requirePostgres();
        Path dir = Files.createTempDirectory("flywheel-outage");
        InetSocketAddress pg = TestDatabase.postgresAddress();
        try (TestDatabase db = TestDatabase.create(TestDatabase.Kind.POSTGRES, dir);
                TcpProxy proxy = new TcpProxy(pg.getHostString(), pg.getPort())) {
            TestServer server = TestServer.start(db, dir, s -> through(s, db.urlThrough(proxy.port())));
            Set<String> durableIds = ConcurrentHashMap.newKeySet();
            Set<String> asyncIds = ConcurrentHashMap.newKeySet();
            List<Answer> answers = new CopyOnWriteArrayList<>();
            long t0 = System.nanoTime();
            long cutAt;
            long restoredAt;
            long recoveredAt;
            try {
                Http http = server.http();
                String version = Fixtures.upload(http, ADMIN, "outage", Fixtures.FEATURES).path("id").asText();
                String durable = Fixtures.deploy(http, ADMIN, "outage-durable", version, "durable");
                String async = Fixtures.deploy(http, ADMIN, "outage-async", version, "async");
                RawHttp raw = new RawHttp(server.port());
                var stop = new java.util.concurrent.atomic.AtomicBoolean();
                List<Thread> load = new ArrayList<>();
                Map<String, Runnable> kinds = new java.util.LinkedHashMap<>();
                kinds.put("durable", () -> predict(raw, durable, "durable", durableIds, answers, t0));
                kinds.put("durable2", () -> predict(raw, durable, "durable", durableIds, answers, t0));
                kinds.put("async", () -> predict(raw, async, "async", asyncIds, answers, t0));
                kinds.put("async2", () -> predict(raw, async, "async", asyncIds, answers, t0));
                kinds.put("read", () -> call(raw, "read", "GET", "/api/deployments/" + durable + "/predictions?limit=5",
                        answers, t0));
                kinds.put("health", () -> call(raw, "health", "GET", "/health", answers, t0));
                for (var k : kinds.entrySet()) {
                    Thread t = new Thread(() -> {
                        while (!stop.get()) {
                            k.getValue().run();
                            if (k.getKey().equals("health")) {
                                sleep(100);
                            }
                        }
                    }, "load-" + k.getKey());
                    t.start();
                    load.add(t);
                }
                sleep(3_000);

                // A restart: every connection dropped, the database back a second later.
                proxy.cut();
                sleep(1_000);
                proxy.restore();
                long afterRestart = ms(t0);
                awaitPredictAnswered(answers, afterRestart);
                sleep(2_000);

                // An outage of 15 s.
                cutAt = ms(t0);
                proxy.cut();
                sleep(OUTAGE_MS);
                restoredAt = ms(t0);
                proxy.restore();
                recoveredAt = awaitPredictAnswered(answers, restoredAt);
                sleep(2_000);
                stop.set(true);
                for (Thread t : load) {
                    t.join(60_000);
                }
                assertThat(http.get("/health", null).status()).isEqualTo(200);
            } finally {
                server.close();
            }

            List<Answer> all = new ArrayList<>(answers);
            List<Answer> during = all.stream().filter(a -> a.startedMs() >= cutAt + DETECTION_MS
                    && a.startedMs() + a.latencyMs() < restoredAt).toList();
            long maxLatency = all.stream().mapToLong(Answer::latencyMs).max().orElse(0);
            long maxDuring = during.stream().mapToLong(Answer::latencyMs).max().orElse(0);
            long firstRefusal = all.stream().filter(a -> a.status() == 503 && a.startedMs() >= cutAt)
                    .mapToLong(a -> a.startedMs() + a.latencyMs() - cutAt).min().orElse(-1);
            Set<String> stored;
            try (Database direct = Database.open(db.url(), db.user(), db.password())) {
                stored = new HashSet<>(direct.jdbi().withHandle(h -> h.createQuery("SELECT id FROM prediction")
                        .mapTo(String.class).list()));
            }
            long durableLost = durableIds.stream().filter(id -> !stored.contains(id)).count();
            long asyncLost = asyncIds.stream().filter(id -> !stored.contains(id)).count();
            System.out.println("outage (PostgreSQL through a TCP proxy): " + all.size() + " requests, "
                    + count(all, 200) + " 200, " + count(all, 503) + " 503; during the 15 s outage "
                    + during.size() + " answers, " + count(during, 503) + " of them 503, slowest " + maxDuring
                    + " ms; first 503 " + firstRefusal + " ms after the cut; answered again "
                    + (recoveredAt - restoredAt) + " ms after the database came back; slowest answer overall "
                    + maxLatency + " ms; acknowledged and lost: durable " + durableLost + " of " + durableIds.size()
                    + ", async " + asyncLost + " of " + asyncIds.size());

            for (Answer a : all) {
                assertThat(a.status()).as(a.kind() + " answered " + a.status() + ": " + a.body()).isIn(200, 503);
                if (a.status() == 503) {
                    assertThat(a.retryAfter()).as(a.kind() + ": Retry-After on " + a.body()).isNotNull();
                    JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(a.body());
                    if (a.kind().equals("health")) {
                        assertThat(json.at("/checks/database/status").asText()).as(a.body()).isEqualTo("down");
                    } else {
                        assertThat(json.path("error").isTextual() && json.path("message").isTextual()).as(a.body())
                                .isTrue();
                    }
                    assertThat(a.body()).as("no internals for the caller")
                            .doesNotContain("Exception", "INSERT", "SQL", "jdbc", "org.", "java.");
                }
            }
            assertThat(during).as("answers during the outage").isNotEmpty();
            assertThat(during).as("every answer while the database is away is a 503")
                    .allSatisfy(a -> assertThat(a.status()).as(a.kind() + ": " + a.body()).isEqualTo(503));
            assertThat(maxDuring).as("the slowest answer while the database is away, ms").isLessThan(1_500);
            assertThat(maxLatency).as("the slowest answer of all, ms").isLessThan(DETECTION_MS + 2_000);
            assertThat(recoveredAt - restoredAt).as("ms until predictions are answered again").isLessThan(20_000);
            assertThat(durableLost).as("acknowledged durable predictions lost").isZero();
            assertThat(asyncLost).as("acknowledged async predictions lost").isZero();
        }
    }

    private static ServerSettings through(ServerSettings s, String url) {
        return s.withDbUrl(url);
    }

    private static void predict(RawHttp raw, String deployment, String kind, Set<String> ids, List<Answer> answers,
            long t0) {
        Answer a = call(raw, kind, "POST", "/api/deployments/" + deployment + "/predict", answers, t0);
        if (a != null && a.status() == 200) {
            try {
                ids.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(a.body()).path("prediction_id")
                        .asText());
            } catch (java.io.IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static Answer call(RawHttp raw, String kind, String method, String path, List<Answer> answers, long t0) {
        long start = System.nanoTime();
        byte[] body = method.equals("POST") ? "{\"features\": [6.0, 2.9, 4.5, 1.5]}".getBytes() : null;
        Map<String, String> headers = body == null ? Map.of("Authorization", "Bearer " + ADMIN)
                : Map.of("Authorization", "Bearer " + ADMIN, "Content-Type", "application/json");
        RawHttp.Response r = raw.send(method, path, headers, body);
        long end = System.nanoTime();
        var a = new Answer(kind, (start - t0) / 1_000_000, (end - start) / 1_000_000, r.status(), r.header("Retry-After"),
                r.text());
        answers.add(a);
        return a;
    }

    /** Waits until a predict started after {@code since} was answered 200; returns when (ms since the start). */
    private static long awaitPredictAnswered(List<Answer> answers, long since) {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (Answer a : answers) {
                if (a.status() == 200 && a.kind().equals("durable") && a.startedMs() >= since) {
                    return a.startedMs() + a.latencyMs();
                }
            }
            sleep(50);
        }
        throw new AssertionError("no durable prediction was answered within 60 s of the database's return");
    }

    private static long count(List<Answer> answers, int status) {
        return answers.stream().filter(a -> a.status() == status).count();
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
