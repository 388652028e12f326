package dev.flywheel.server.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.RawHttp;
import dev.flywheel.server.testing.ServerContract;
import dev.flywheel.server.testing.StoredState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A fuzzer over every route of {@code /openapi.json}: {@value #REQUESTS} requests that are wrong in one way each — no
 * or a bad token, ids that do not exist or are not ids at all, bodies that are not the JSON or multipart they should
 * be, bad query parameters, URIs and headers that break HTTP itself — sent over raw sockets from four threads.
 *
 * <p>Every answer must be below 500, every error the API's JSON {@code {"error", "message"}}, and afterwards not one
 * row or file may have been added. Real ids are only combined with a body that is wrong, and routes without a body
 * only ever get ids that do not exist, so that no request of the fuzzer is a valid one that would change something.
 * Written once and run on H2 and on PostgreSQL.
 */
public abstract class FuzzContract extends ServerContract {

    static final int REQUESTS = 10_000;
    private static final int THREADS = 4;
    private static final long SEED = Long.getLong("flywheel.fuzz.seed", 20261202L);
    private static final Pattern PARAM = Pattern.compile("\\{([a-z]+)}");

    private RawHttp raw;
    private final List<Operation> operations = new ArrayList<>();
    private final Map<String, String> realIds = new LinkedHashMap<>();
    private String viewerToken;

    /** A documented route. */
    private record Operation(String method, String path, boolean hasBody, boolean multipart, List<String> query) {
        String key() {
            return method + " " + path;
        }

        List<String> params() {
            List<String> out = new ArrayList<>();
            Matcher m = PARAM.matcher(path);
            while (m.find()) {
                out.add(m.group(1));
            }
            return out;
        }
    }

    /** A request to send, with what it is for the report. */
    private record Probe(String operation, String description, byte[] bytes, boolean head) {}

    @BeforeAll
    void setUp() {
        raw = new RawHttp(server.port());
        JsonNode version = Fixtures.upload(http, ADMIN, "fuzz", Fixtures.FEATURES);
        String deployment = Fixtures.deploy(http, ADMIN, "fuzz", version.path("id").asText(), "durable");
        String dataset = Fixtures.createdId(http.post("/api/datasets", ADMIN, "{\"name\": \"fuzz\"}"));
        String datasetVersion = Fixtures.createdId(http.post("/api/datasets/" + dataset + "/versions", ADMIN,
                "{\"name\": \"v1\"}"));
        var prediction = http.post("/api/deployments/" + deployment + "/predict", ADMIN,
                "{\"features\": [6.0, 2.9, 4.5, 1.5]}");
        assertThat(prediction.status()).isEqualTo(200);
        var viewer = http.post("/api/tokens", ADMIN, "{\"name\": \"fuzz-viewer\", \"role\": \"viewer\"}");
        viewerToken = viewer.json().path("secret").asText();
        realIds.put("m", version.path("model_id").asText());
        realIds.put("v", version.path("id").asText());
        realIds.put("d", deployment);
        realIds.put("ds", dataset);
        realIds.put("dv", datasetVersion);
        realIds.put("p", prediction.json().path("prediction_id").asText());
        realIds.put("t", viewer.json().path("token").path("id").asText());
        realIds.put("r", "run_01M0000000000000000000000");
        // A plugin id is a real one: only bad bodies or garbage ids reach its routes, never a valid request.
        realIds.put("pl", "trigger-drift");

        JsonNode doc = http.get("/openapi.json", null).json();
        doc.path("paths").fields().forEachRemaining(path -> path.getValue().fields().forEachRemaining(op -> {
            JsonNode content = op.getValue().path("requestBody").path("content");
            List<String> query = new ArrayList<>();
            op.getValue().path("parameters").forEach(p -> {
                if (p.path("in").asText().equals("query")) {
                    query.add(p.path("name").asText());
                }
            });
            operations.add(new Operation(op.getKey().toUpperCase(), path.getKey(), !content.isMissingNode()
                    && !content.isEmpty(), content.has("multipart/form-data"), query));
        }));
        assertThat(operations).hasSizeGreaterThan(60);
    }

    @Test
    void tenThousandBadRequestsOverEveryRouteGetNo5xxOnlyJsonErrorsAndChangeNothing() throws Exception {
        Map<String, Long> before = StoredState.of(db, dir.resolve("data"), server.pluginsDir());
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> perOperation = new ConcurrentHashMap<>();
        List<String> violations = Collections.synchronizedList(new ArrayList<>());
        // Requests that could change something and were answered 2xx: the first place to look if rows appear.
        List<String> accepted = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger sent = new AtomicInteger();
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            Thread worker = new Thread(() -> {
                Random random = new Random(SEED + thread);
                for (int i = thread; i < REQUESTS; i += THREADS) {
                    Probe probe = probe(i, random);
                    RawHttp.Response r = raw.send(probe.bytes());
                    sent.incrementAndGet();
                    statuses.computeIfAbsent(r.status(), s -> new AtomicInteger()).incrementAndGet();
                    perOperation.computeIfAbsent(probe.operation(), s -> new AtomicInteger()).incrementAndGet();
                    if (r.status() >= 200 && r.status() < 300 && !probe.operation().startsWith("GET ")
                            && accepted.size() < 100) {
                        accepted.add(probe.operation() + " [" + probe.description() + "]: " + r);
                    }
                    String problem = problem(r, probe.head());
                    if (problem != null && violations.size() < 1000) {
                        violations.add(probe.operation() + " [" + probe.description() + "]: " + problem + ": " + r);
                    }
                }
            }, "fuzz-" + t);
            worker.start();
            threads.add(worker);
        }
        for (Thread t : threads) {
            t.join();
        }
        long seconds = (System.nanoTime() - start) / 1_000_000_000L;
        Map<Integer, Integer> byStatus = new TreeMap<>();
        statuses.forEach((k, v) -> byStatus.put(k, v.get()));
        System.out.println("fuzz (" + backend() + ", seed " + SEED + "): " + sent.get() + " requests over "
                + operations.size() + " documented operations in " + seconds + " s; statuses " + byStatus
                + "; violations " + violations.size());

        accepted.forEach(a -> System.out.println("fuzz: accepted " + a));
        assertThat(sent.get()).isGreaterThanOrEqualTo(REQUESTS);
        assertThat(violations).as("answers that are 5xx or not the API's error JSON").isEmpty();
        for (Operation op : operations) {
            assertThat(perOperation.getOrDefault(op.key(), new AtomicInteger()).get())
                    .as("requests to " + op.key()).isGreaterThanOrEqualTo(REQUESTS / operations.size() / 2);
        }
        assertThat(StoredState.of(db, dir.resolve("data"), server.pluginsDir()))
                .as("rows and files after the fuzz").isEqualTo(before);
        assertThat(http.get("/health", null).status()).isEqualTo(200);
    }

    /** What is wrong with an answer, or {@code null}. */
    private static String problem(RawHttp.Response r, boolean head) {
        if (r.status() < 0) {
            return "no HTTP answer";
        }
        if (r.status() >= 500) {
            return "a 5xx";
        }
        if (r.status() < 400 || head || r.status() == 304) {
            return null;
        }
        String type = r.header("Content-Type");
        if (type == null || !type.startsWith("application/json")) {
            return "an error that is not JSON (" + type + ")";
        }
        JsonNode json = r.jsonOrNull();
        if (json == null || !json.path("error").isTextual() || !json.path("message").isTextual()) {
            return "an error that is not {error, message}";
        }
        return null;
    }

    /** The i-th request: operations in turn, each wrong in a way chosen at random. */
    private Probe probe(int i, Random random) {
        if (i % 50 == 49) {
            return protocolProbe(random);
        }
        Operation op = operations.get(i % operations.size());
        List<String> kinds = new ArrayList<>(List.of("auth", "ids"));
        if (op.hasBody()) {
            kinds.add("body");
            kinds.add("body");
            kinds.add("content-type");
        }
        if (op.multipart()) {
            kinds.add("multipart");
            kinds.add("multipart");
        }
        if (!op.query().isEmpty()) {
            kinds.add("query");
        }
        String kind = kinds.get(random.nextInt(kinds.size()));
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Authorization", "Bearer " + ADMIN);
        String target;
        byte[] body = null;
        String description;
        switch (kind) {
            case "auth" -> {
                String[] bad = {null, "Bearer", "Bearer fw_not-a-real-token-0123456789", "Basic YWRtaW46YWRtaW4=",
                        "Bearer " + ADMIN.toUpperCase(), "bearer  ", "Bearer " + "x".repeat(3000)};
                String auth = bad[random.nextInt(bad.length)];
                if (auth == null) {
                    headers.remove("Authorization");
                } else {
                    headers.put("Authorization", auth);
                }
                target = path(op, random, false);
                if (op.hasBody()) {
                    body = badJson(random);
                    headers.put("Content-Type", "application/json");
                }
                description = "auth " + (auth == null ? "none" : abbreviate(auth));
            }
            case "ids" -> {
                target = path(op, random, true);
                if (op.hasBody()) {
                    body = badJson(random);
                    headers.put("Content-Type", "application/json");
                }
                if (op.path().startsWith("/api/") && random.nextInt(4) == 0) {
                    // A viewer may read; it must not write, whatever the route.
                    headers.put("Authorization", "Bearer " + viewerToken);
                }
                description = "ids " + abbreviate(target);
            }
            case "body" -> {
                target = path(op, random, false);
                body = badJson(random);
                headers.put("Content-Type", "application/json");
                description = "body " + abbreviate(new String(body, StandardCharsets.UTF_8));
            }
            case "content-type" -> {
                target = path(op, random, false);
                String[] types = {"text/plain", "application/xml", "application/json; charset=ebcdic",
                        "application/json; charset=utf-16", "multipart/form-data", "image/png", "image/jpeg",
                        "application/x-www-form-urlencoded", "application/java-archive", ";;;", "application/json; charset"};
                String type = types[random.nextInt(types.length)];
                headers.put("Content-Type", type);
                body = random.nextBoolean() ? badJson(random) : "name=x&role=admin".getBytes();
                description = "content type " + type;
            }
            case "multipart" -> {
                target = path(op, random, false);
                String[] m = badMultipart(random);
                headers.put("Content-Type", m[0]);
                body = m[1].getBytes(StandardCharsets.ISO_8859_1);
                description = "multipart " + m[2];
            }
            default -> {
                target = path(op, random, false) + badQuery(op, random);
                if (op.hasBody()) {
                    body = badJson(random);
                    headers.put("Content-Type", "application/json");
                }
                description = "query " + abbreviate(target);
            }
        }
        return new Probe(op.key(), description, RawHttp.request(op.method(), target, headers, body), false);
    }

    /** A path for the operation: with real ids, or (always for routes without a body) with ids that are wrong. */
    private String path(Operation op, Random random, boolean forceBad) {
        String path = op.path();
        boolean bad = forceBad || !op.hasBody() && !op.method().equals("GET");
        for (String param : op.params()) {
            String value = bad ? badId(random) : realIds.getOrDefault(param.equals("p") && path.startsWith("/api/plugins")
                    ? "pl" : param, "unknown");
            path = path.replace("{" + param + "}", value);
        }
        return path;
    }

    private static String badId(Random random) {
        String[] ids = {"nope", "mdl_00000000000000000000000000", "x".repeat(300), "%00", "%2e%2e%2f%2e%2e",
                "'%20OR%201=1%20--", "%C3%A9%F0%9F%98%80", "a%20b", "..", "%25", "null", "-1", "0", "%0d%0aX-Injected:%201",
                "%3Cscript%3E", "tok_%00x", "9".repeat(40), "%E2%80%AE"};
        return ids[random.nextInt(ids.length)];
    }

    private static byte[] badJson(Random random) {
        String[] bodies = {"", "{", "}", "[", "]", "[]", "null", "true", "1", "\"text\"", "{\"a\":", "{\"a\" 1}",
                "{} trailing", "{}{}", "{\"zz_unknown_field\": 1}", "{\"zz_unknown_field\": null} 1",
                "[".repeat(5000), "{\"a\":".repeat(2000), "{\"features\": [1e999999]}", "{'single': 'quotes'}",
                "{\"a\": NaN}", "{\"a\": 1,}", "\u0000\u0000", "\ufeff{} x", "{\"a\": \"\\ud800\"}", "{\"a\": \"\\x\"}",
                "{\"features\": [3.4e38, 3.4e38, 3.4e38, 3.4e38]}", "{\"features\": [6.0, 2.9, 4.5, 1.5]} x",
                "{\"name\": \"nul\\u0000\"}", "{\"label\": \"\\u0000\"}"};
        if (random.nextInt(12) == 0) {
            byte[] junk = new byte[1 + random.nextInt(400)];
            random.nextBytes(junk);
            return junk;
        }
        if (random.nextInt(20) == 0) {
            return ("{\"zz_unknown_field\": \"" + "y".repeat(100_000) + "\"}").getBytes();
        }
        return bodies[random.nextInt(bodies.length)].getBytes(StandardCharsets.UTF_8);
    }

    private static String badQuery(Operation op, Random random) {
        String[] values = {"-1", "0", "99999999999999999999", "abc", "1e3", "", "%zz", "%", "NaN", "2026-13-45",
                "yesterday", "BOGUS", "x".repeat(500), "1;DROP", "%00", "..%2F"};
        StringBuilder q = new StringBuilder("?");
        int n = 1 + random.nextInt(3);
        for (int i = 0; i < n; i++) {
            String name = random.nextInt(5) == 0 ? "zz_unknown" : op.query().get(random.nextInt(op.query().size()));
            q.append(i == 0 ? "" : "&").append(name).append('=').append(values[random.nextInt(values.length)]);
        }
        return q.toString();
    }

    /** {content type, body, what it is}. */
    private static String[] badMultipart(Random random) {
        String b = "fuzzBoundary";
        String part = "--" + b + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model.pt\"\r\n\r\nabc\r\n";
        String end = "--" + b + "--\r\n";
        return switch (random.nextInt(9)) {
            case 0 -> new String[] {"multipart/form-data", part + end, "no boundary"};
            case 1 -> new String[] {"multipart/form-data; boundary=other", part + end, "another boundary"};
            case 2 -> new String[] {"multipart/form-data; boundary=" + b, part.substring(0, 30), "truncated"};
            case 3 -> new String[] {"multipart/form-data; boundary=" + b, "", "empty"};
            case 4 -> new String[] {"multipart/form-data; boundary=" + b, "garbage ".repeat(50), "garbage"};
            case 5 -> new String[] {"multipart/form-data; boundary=" + b,
                    "--" + b + "\r\nContent-Type: text/plain\r\n\r\nx\r\n" + end, "a part without Content-Disposition"};
            case 6 -> {
                var many = new StringBuilder();
                for (int i = 0; i < 2000; i++) {
                    many.append("--").append(b).append("\r\nContent-Disposition: form-data; name=\"f").append(i)
                            .append("\"\r\n\r\nx\r\n");
                }
                yield new String[] {"multipart/form-data; boundary=" + b, many + end, "2000 parts"};
            }
            case 7 -> new String[] {"multipart/form-data; boundary=" + b, part + "--" + b
                    + "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" + "m".repeat(1_000_000) + "\r\n" + end,
                    "a 1 MB field"};
            default -> new String[] {"multipart/form-data; boundary=" + b, part + part + end, "the part 'file' twice"};
        };
    }

    /** A request that breaks HTTP itself, to any path. */
    private Probe protocolProbe(Random random) {
        Map<String, String> auth = new LinkedHashMap<>(Map.of("Authorization", "Bearer " + ADMIN));
        String d = realIds.get("d");
        return switch (random.nextInt(12)) {
            case 0 -> probe("GET /api/models/%zz", RawHttp.request("GET", "/api/models/%zz", auth, null));
            case 1 -> probe("GET a lone %", RawHttp.request("GET", "/api/deployments/%", auth, null));
            case 2 -> probe("overlong UTF-8", RawHttp.request("GET", "/api/models/%c0%af", auth, null));
            case 3 -> probe("a 20 000-character URI", RawHttp.request("GET", "/api/models/" + "a".repeat(20_000), auth,
                    null));
            case 4 -> {
                auth.put("X-Big", "h".repeat(20_000));
                yield probe("a 20 000-byte header", RawHttp.request("GET", "/api/models", auth, null));
            }
            case 5 -> {
                auth.put("Content-Type", "application/json");
                auth.put("Transfer-Encoding", "chunked");
                yield probe("a bad chunk size", RawHttp.request("POST", "/api/deployments/" + d + "/predict", auth,
                        "zz\r\n{}\r\n0\r\n\r\n".getBytes()));
            }
            case 6 -> {
                auth.put("Content-Type", "application/json");
                auth.put("Content-Length", "abc");
                yield probe("a bad Content-Length", RawHttp.request("POST", "/api/models", auth, "{}".getBytes()));
            }
            case 7 -> {
                auth.put("Content-Type", "application/json");
                auth.put("Content-Length", "100");
                auth.put("Transfer-Encoding", "chunked");
                yield probe("Content-Length and chunked", RawHttp.request("POST", "/api/models", auth,
                        "2\r\n{}\r\n0\r\n\r\n".getBytes()));
            }
            case 8 -> probe("an unknown method", RawHttp.request(random.nextBoolean() ? "PATCH" : "FOO",
                    "/api/models", auth, null));
            case 9 -> probe("a request line that is not HTTP", "GARBAGE / nonsense\r\n\r\n".getBytes());
            case 10 -> {
                auth.put("Content-Type", "application/json");
                auth.put("Content-Length", "50");
                yield probe("a body shorter than its length", RawHttp.request("POST", "/api/models", auth,
                        "{\"name\":".getBytes()));
            }
            default -> probe("an unknown path", RawHttp.request(random.nextBoolean() ? "GET" : "POST",
                    "/api/nothing-here/" + badId(random), auth, null));
        };
    }

    private static Probe probe(String description, byte[] bytes) {
        return new Probe("(protocol)", description, bytes, false);
    }

    private static String abbreviate(String s) {
        String oneLine = s.replaceAll("[\\r\\n]", " ");
        return oneLine.length() > 80 ? oneLine.substring(0, 80) + "…" : oneLine;
    }
}
