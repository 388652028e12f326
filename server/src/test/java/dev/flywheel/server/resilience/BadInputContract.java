package dev.flywheel.server.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.RawHttp;
import dev.flywheel.server.testing.ServerContract;
import dev.flywheel.server.testing.StoredState;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad input of every kind the issue found gets a clear 4xx JSON {@code {"error", "message"}} and changes nothing:
 * malformed multipart on every multipart route, unsupported charsets, broken chunked encoding, trailing garbage,
 * extreme-but-finite features, an image input too large to serve, and the requests Jetty itself refuses. Written once
 * and run on H2 and on PostgreSQL.
 */
public abstract class BadInputContract extends ServerContract {

    private static final String B = "fwBoundary7";
    private RawHttp raw;
    private String modelId;
    private String deployment;
    private String datasetVersion;

    @BeforeAll
    void setUp() {
        raw = new RawHttp(server.port());
        JsonNode version = Fixtures.upload(http, ADMIN, "bad-input", Fixtures.FEATURES);
        modelId = version.path("model_id").asText();
        deployment = Fixtures.deploy(http, ADMIN, "bad-input", version.path("id").asText(), "durable");
        String dataset = Fixtures.createdId(http.post("/api/datasets", ADMIN, "{\"name\": \"bad-input\"}"));
        datasetVersion = Fixtures.createdId(http.post("/api/datasets/" + dataset + "/versions", ADMIN,
                "{\"name\": \"v1\"}"));
        // One good prediction, so that the tables the checks below count are not empty to begin with.
        assertThat(predict("application/json", "{\"features\": [6.0, 2.9, 4.5, 1.5]}".getBytes()).status())
                .isEqualTo(200);
    }

    @Test
    void malformedMultipartOnEveryMultipartRouteIsA4xxAndStoresNothing() {
        Map<String, Long> before = stored();
        List<String> routes = List.of("/api/models/" + modelId + "/versions", "/api/plugins",
                "/api/training-runs/run_unknown/output", "/api/dataset-versions/" + datasetVersion + "/items");
        byte[] good = concat(part("file", "model.pt", "abc".getBytes()),
                part("metadata", null, Fixtures.bytes(Fixtures.FEATURES, "model.json")),
                ("--" + B + "--\r\n").getBytes());
        var cases = new LinkedHashMap<String, Object[]>();
        cases.put("no boundary", new Object[] {"multipart/form-data", good});
        cases.put("another boundary", new Object[] {"multipart/form-data; boundary=other", good});
        cases.put("truncated", new Object[] {"multipart/form-data; boundary=" + B,
                java.util.Arrays.copyOf(good, good.length / 2)});
        cases.put("empty", new Object[] {"multipart/form-data; boundary=" + B, new byte[0]});
        cases.put("garbage", new Object[] {"multipart/form-data; boundary=" + B,
                "\u0000\u0001 not a form at all ".repeat(40).getBytes()});
        cases.put("a part without Content-Disposition", new Object[] {"multipart/form-data; boundary=" + B,
                ("--" + B + "\r\nContent-Type: text/plain\r\n\r\nhello\r\n--" + B + "--\r\n").getBytes()});
        var many = new ByteArrayOutputStream();
        for (int i = 0; i < 2000; i++) {
            many.writeBytes(part("field" + i, null, "x".getBytes()));
        }
        many.writeBytes(("--" + B + "--\r\n").getBytes());
        cases.put("2000 parts", new Object[] {"multipart/form-data; boundary=" + B, many.toByteArray()});
        cases.put("a 1 MB field", new Object[] {"multipart/form-data; boundary=" + B, concat(
                part("file", "model.pt", "abc".getBytes()), part("metadata", null, "x".repeat(1_000_000).getBytes()),
                ("--" + B + "--\r\n").getBytes())});
        for (String route : routes) {
            for (var c : cases.entrySet()) {
                RawHttp.Response r = raw.send("POST", route, Map.of("Authorization", "Bearer " + ADMIN,
                        "Content-Type", (String) c.getValue()[0]), (byte[]) c.getValue()[1]);
                assertClientError(r, "POST " + route + " with " + c.getKey());
            }
        }
        assertThat(stored()).isEqualTo(before);
    }

    @Test
    void aCharsetThatCannotBeDecodedIs415() {
        Map<String, Long> before = stored();
        for (String charset : List.of("ebcdic", "utf-16", "x-no-such-charset", "\"\"")) {
            RawHttp.Response r = raw.send("POST", "/api/deployments/" + deployment + "/predict", Map.of(
                    "Authorization", "Bearer " + ADMIN, "Content-Type", "application/json; charset=" + charset),
                    "{\"features\": [6.0, 2.9, 4.5, 1.5]}".getBytes());
            assertClientError(r, "predict with charset " + charset);
            assertThat(r.status()).as(r.toString()).isEqualTo(415);
            assertClientError(raw.send("POST", "/api/models", Map.of("Authorization", "Bearer " + ADMIN,
                    "Content-Type", "application/json; charset=" + charset), "{\"name\": \"ebcdic\"}".getBytes()),
                    "create a model with charset " + charset);
        }
        assertClientError(raw.send("POST", "/api/models", Map.of("Authorization", "Bearer " + ADMIN,
                "Content-Type", "application/json; charset"), "{\"name\": \"no charset\"}".getBytes()),
                "a charset parameter without a value");
        assertThat(stored()).isEqualTo(before);
    }

    @Test
    void aBrokenChunkedBodyIsA400() {
        Map<String, Long> before = stored();
        var chunked = Map.of("Authorization", "Bearer " + ADMIN, "Content-Type", "application/json",
                "Transfer-Encoding", "chunked");
        for (String route : List.of("/api/deployments/" + deployment + "/predict", "/api/models",
                "/api/dataset-versions/" + datasetVersion + "/items")) {
            assertClientError(raw.send("POST", route, chunked,
                    "zz\r\n{\"features\": [1, 2, 3, 4]}\r\n0\r\n\r\n".getBytes()), route + " with a bad chunk size");
            assertClientError(raw.send("POST", route, chunked, "5\r\n{\"nam\r\nFFFFFFFFFFFFFFFFFFFF\r\n".getBytes()),
                    route + " with an impossible chunk size");
            assertClientError(raw.send("POST", route, chunked, "40\r\n{\"name\": ".getBytes()),
                    route + " with a chunk cut short");
        }
        assertClientError(raw.send("POST", "/api/plugins", Map.of("Authorization", "Bearer " + ADMIN,
                "Content-Type", "application/java-archive", "Transfer-Encoding", "chunked"),
                "zz\r\nPK\r\n0\r\n\r\n".getBytes()), "a plugin jar with a bad chunk size");
        assertThat(stored()).isEqualTo(before);
    }

    @Test
    void trailingGarbageAndTwoDocumentsAreRefusedAndNeverStored() {
        Map<String, Long> before = stored();
        for (String body : List.of("{\"features\": [6.0, 2.9, 4.5, 1.5]} trailing",
                "{\"features\": [6.0, 2.9, 4.5, 1.5]}{\"features\": [1, 2, 3, 4]}",
                "{\"features\": [6.0, 2.9, 4.5, 1.5]} 1", "{\"features\": [6.0, 2.9, 4.5, 1.5]}]")) {
            RawHttp.Response r = predict("application/json", body.getBytes());
            assertClientError(r, "predict " + body);
            assertThat(r.status()).as(r.toString()).isEqualTo(400);
            assertClientError(raw.send("POST", "/api/models", Map.of("Authorization", "Bearer " + ADMIN,
                    "Content-Type", "application/json"), "{\"name\": \"two\"} {\"name\": \"three\"}".getBytes()),
                    "create a model from two documents");
        }
        assertThat(stored()).isEqualTo(before);
    }

    @Test
    void textWithANulCharacterIsRefusedOnEitherDatabase() {
        Map<String, Long> before = stored();
        Map<String, String> json = Map.of("Authorization", "Bearer " + ADMIN, "Content-Type", "application/json");
        assertClientError(raw.send("POST", "/api/models", json, "{\"name\": \"nul\\u0000\"}".getBytes()),
                "a model name with NUL");
        // Logged with a label PostgreSQL cannot store: refused before anything is queued, not failed at the write.
        assertClientError(raw.send("POST", "/api/deployments/" + deployment + "/predictions", json,
                ("{\"input\": {\"features\": [1, 2, 3, 4]}, \"label\": \"a\\u0000\", \"confidence\": 0.5}")
                        .getBytes()), "a logged prediction with a NUL label");
        assertClientError(raw.send("GET", "/api/events?type=%00", json, null), "a NUL in a query parameter");
        assertClientError(raw.send("GET", "/api/models/%00", json, null), "a NUL in a path parameter");
        assertThat(stored()).isEqualTo(before);
    }

    @Test
    void extremeButFiniteFeaturesAreTheClientsProblemNotAPluginFailure() {
        Map<String, Long> before = stored();
        int errorEvents = http.get("/api/events?severity=error&limit=500", ADMIN).json().path("items").size();
        for (String body : List.of("{\"features\": [3.4e38, 3.4e38, 3.4e38, 3.4e38]}",
                "{\"features\": [-3.4e38, 3.4e38, -3.4e38, 3.4e38]}")) {
            RawHttp.Response r = predict("application/json", body.getBytes());
            assertClientError(r, "predict " + body);
            assertThat(r.status()).as(r.toString()).isEqualTo(400);
            assertThat(r.jsonOrNull().path("error").asText()).isEqualTo("invalid_input");
        }
        assertThat(stored()).isEqualTo(before);
        // Large values the model can still compute with have a defined answer: finite probabilities.
        RawHttp.Response large = predict("application/json", "{\"features\": [1e30, 1e30, 1e30, 1e30]}".getBytes());
        assertThat(large.status()).as(large.toString()).isEqualTo(200);
        assertThat(large.jsonOrNull().path("confidence").asDouble()).isBetween(0.0, 1.0);
        assertThat(http.get("/api/events?severity=error&limit=500", ADMIN).json().path("items").size())
                .as("error events").isEqualTo(errorEvents);
    }

    @Test
    void anImageInputTooLargeToServeIsA400NotAPluginFailure() {
        Map<String, Long> before = stored();
        for (String size : List.of("\"width\": 99999, \"height\": 99999", "\"width\": 8192, \"height\": 8192",
                "\"width\": 2147483647, \"height\": 1")) {
            String metadata = "{\"format\": \"torchscript\", \"task\": \"classification\", \"labels\": [\"red\", "
                    + "\"blue\"], \"input\": {\"kind\": \"image\", " + size + ", \"channels\": 3}, \"output\": "
                    + "\"probabilities\"}";
            var r = http.multipart()
                    .file("file", "model.pt", "application/octet-stream", Fixtures.bytes(Fixtures.IMAGE, "model.pt"))
                    .field("metadata", metadata)
                    .post("/api/models/" + modelId + "/versions", ADMIN);
            assertThat(r.status()).as(size + ": " + r).isEqualTo(400);
            assertThat(r.json().path("error").asText()).isEqualTo("invalid_metadata");
            assertThat(r.json().path("message").asText()).contains("at most");
        }
        assertThat(stored()).isEqualTo(before);
    }

    @Test
    void whatJettyRefusesItselfIsJsonToo() {
        Map<String, String> auth = Map.of("Authorization", "Bearer " + ADMIN);
        assertClientError(raw.send("GET", "/api/models/%zz", auth, null), "a bad percent-encoding");
        assertClientError(raw.send("GET", "/api/models/%", auth, null), "a lone percent sign");
        assertClientError(raw.send("GET", "/api/mo%GGdels?x=%", auth, null), "bad encodings in path and query");
        RawHttp.Response longUri = raw.send("GET", "/api/models/" + "a".repeat(20_000), auth, null);
        assertClientError(longUri, "a 20 000-character URI");
        assertThat(longUri.status()).isEqualTo(414);
        RawHttp.Response bigHeader = raw.send("GET", "/health", Map.of("X-Big", "a".repeat(20_000)), null);
        assertClientError(bigHeader, "a 20 000-byte header");
        assertThat(bigHeader.status()).isEqualTo(431);
        assertClientError(raw.send("GET", "/health", Map.of("Content-Length", "abc"), null), "a bad Content-Length");
        assertClientError(raw.send(("GARBAGE\r\n\r\n").getBytes()), "a request line that is not HTTP");
    }

    private RawHttp.Response predict(String contentType, byte[] body) {
        return raw.send("POST", "/api/deployments/" + deployment + "/predict",
                Map.of("Authorization", "Bearer " + ADMIN, "Content-Type", contentType), body);
    }

    private Map<String, Long> stored() {
        return StoredState.of(db, dir.resolve("data"), server.pluginsDir());
    }

    /** A 4xx whose body is the API's error JSON. */
    static void assertClientError(RawHttp.Response r, String what) {
        assertThat(r.status()).as(what + ": " + r).isBetween(400, 499);
        assertThat(r.header("Content-Type")).as(what + ": content type").startsWith("application/json");
        JsonNode json = r.jsonOrNull();
        assertThat(json).as(what + ": body is JSON: " + r).isNotNull();
        assertThat(json.path("error").isTextual() && json.path("message").isTextual())
                .as(what + ": {error, message}: " + r).isTrue();
    }

    private static byte[] part(String name, String filename, byte[] content) {
        String head = "--" + B + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
                + (filename == null ? "" : "; filename=\"" + filename + "\"") + "\r\n\r\n";
        return concat(head.getBytes(StandardCharsets.UTF_8), content, "\r\n".getBytes());
    }

    private static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
