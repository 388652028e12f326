package dev.flywheel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/**
 * The set-up and checking calls the benchmark makes to the Flywheel server under test, through its public REST
 * API only: upload the model, create the deployments, count the logged predictions, read {@code /metrics}. None
 * of these calls is timed.
 */
final class FlywheelAdmin {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private final String token;

    FlywheelAdmin(int port, String token) {
        this.base = "http://127.0.0.1:" + port;
        this.token = token;
    }

    /** Creates a model and uploads {@code model.pt} + {@code model.json} of {@code dir} as its first version. */
    String uploadModel(String name, Path dir) throws IOException, InterruptedException {
        String modelId = createModel(name);
        return uploadVersion(modelId, "model.pt", Files.readAllBytes(dir.resolve("model.pt")),
                Files.readAllBytes(dir.resolve("model.json")));
    }

    /** Creates a model with no version yet; returns its id. */
    String createModel(String name) throws IOException, InterruptedException {
        return send(json("/api/models", "{\"name\":\"" + name + "\"}"), 201).path("id").asText();
    }

    /**
     * Uploads a version of a model: the artifact (a TorchScript {@code .pt}, or a {@code .zip} of a DJL model
     * directory, told apart by {@code fileName}) and its {@code model.json}; returns the version's id.
     */
    String uploadVersion(String modelId, String fileName, byte[] artifact, byte[] metadata)
            throws IOException, InterruptedException {
        String boundary = "bench" + UUID.randomUUID().toString().replace("-", "");
        var body = new ByteArrayOutputStream(artifact.length + metadata.length + 1024);
        part(body, boundary, "form-data; name=\"file\"; filename=\"" + fileName + "\"", "application/octet-stream",
                artifact);
        part(body, boundary, "form-data; name=\"metadata\"", "application/json", metadata);
        body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        var req = request("/api/models/" + modelId + "/versions")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
        return send(req, 201).path("id").asText();
    }

    private static void part(ByteArrayOutputStream out, String boundary, String disposition, String type,
            byte[] content) throws IOException {
        out.write(("--" + boundary + "\r\nContent-Disposition: " + disposition + "\r\nContent-Type: " + type
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(content);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /** Creates a deployment of a version with a capture mode; returns its id. */
    String deploy(String name, String versionId, String captureMode) throws IOException, InterruptedException {
        return send(json("/api/deployments", "{\"name\":\"" + name + "\",\"model_version_id\":\"" + versionId
                + "\",\"settings\":{\"capture_mode\":\"" + captureMode + "\"}}"), 201).path("id").asText();
    }

    /** {@code PUT /api/deployments/{d}/shadow}: runs {@code versionId} beside the primary from now on. */
    JsonNode setShadow(String deploymentId, String versionId) throws IOException, InterruptedException {
        return send(request("/api/deployments/" + deploymentId + "/shadow").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"model_version_id\":\"" + versionId + "\"}")).build(),
                200);
    }

    /** {@code DELETE /api/deployments/{d}/shadow}. */
    JsonNode removeShadow(String deploymentId) throws IOException, InterruptedException {
        return send(request("/api/deployments/" + deploymentId + "/shadow").DELETE().build(), 200);
    }

    /** A {@code GET} of the API that must answer 200, e.g. {@code /api/deployments/{d}/comparison}. */
    JsonNode get(String path) throws IOException, InterruptedException {
        return send(request(path).GET().build(), 200);
    }

    /** A {@code POST} of a JSON body that must answer {@code expected}. */
    JsonNode post(String path, String body, int expected) throws IOException, InterruptedException {
        return send(json(path, body), expected);
    }

    /** Waits (up to a minute) until the async prediction writer's queue is empty. */
    void awaitWriterDrained() throws IOException, InterruptedException {
        awaitZero(Duration.ofSeconds(60), "flywheel_prediction_writer_queue");
    }

    /**
     * Waits until every named gauge of {@code /metrics} is 0, or the time is up.
     *
     * @return whether they all reached 0
     */
    boolean awaitZero(Duration timeout, String... gauges) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            PrometheusText m = metrics();
            boolean zero = true;
            for (String g : gauges) {
                zero &= m.sum(g) == 0;
            }
            if (zero) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(100);
        }
    }

    /** Counts a deployment's logged predictions by paging through them, 500 at a time. */
    long countPredictions(String deploymentId) throws IOException, InterruptedException {
        long count = 0;
        String cursor = null;
        do {
            String path = "/api/deployments/" + deploymentId + "/predictions?limit=500"
                    + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8));
            JsonNode page = send(request(path).GET().build(), 200);
            count += page.path("items").size();
            JsonNode next = page.path("next_cursor");
            cursor = next.isNull() || next.isMissingNode() || next.asText().isEmpty() ? null : next.asText();
        } while (cursor != null);
        return count;
    }

    /**
     * The mean {@code latency_ms} of a deployment's {@code newest} predictions: the time from the start of the
     * predict call to the model's answer (JSON parsing, the runtime's batching wait and the forward pass), before
     * the input is stored and the row queued.
     */
    double meanModelLatencyMs(String deploymentId, long newest) throws IOException, InterruptedException {
        double sum = 0;
        long seen = 0;
        String cursor = null;
        while (seen < newest) {
            String path = "/api/deployments/" + deploymentId + "/predictions?limit=500"
                    + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8));
            JsonNode page = send(request(path).GET().build(), 200);
            for (JsonNode p : page.path("items")) {
                if (seen++ >= newest) {
                    break;
                }
                sum += p.path("latency_ms").asDouble();
            }
            JsonNode next = page.path("next_cursor");
            if (next.isNull() || next.isMissingNode() || next.asText().isEmpty()) {
                break;
            }
            cursor = next.asText();
        }
        return seen == 0 ? Double.NaN : sum / Math.min(seen, newest);
    }

    /** {@code GET /metrics}, parsed. */
    PrometheusText metrics() throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET /metrics answered " + r.statusCode());
        }
        return PrometheusText.parse(r.body());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + token);
    }

    private HttpRequest json(String path, String body) {
        return request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private JsonNode send(HttpRequest req, int expected) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != expected) {
            throw new IllegalStateException(req.method() + " " + req.uri().getPath() + " answered " + r.statusCode()
                    + ", expected " + expected + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }
}
