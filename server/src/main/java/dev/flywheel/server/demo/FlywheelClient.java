package dev.flywheel.server.demo;

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
import java.time.Duration;
import java.util.UUID;

/**
 * A small client of Flywheel's public REST API: all the demo knows about the server, so that it runs the same against
 * the embedded server and against any other one ({@code --server URL --token T}).
 */
public final class FlywheelClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String base;
    private final String token;
    private final HttpClient http;

    /**
     * A client of the server at {@code baseUrl} (such as {@code http://127.0.0.1:8080}) with this bearer token.
     */
    public FlywheelClient(String baseUrl, String token) {
        this.base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.token = token;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    public String baseUrl() {
        return base;
    }

    /** GET a JSON resource. */
    public JsonNode get(String path) {
        return send(request(path).GET().build(), path);
    }

    /** POST a JSON body (or none, for {@code null}). */
    public JsonNode post(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json")
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : json(body)).build(), path);
    }

    /** PUT a JSON body. */
    public JsonNode put(String path, Object body) {
        return send(request(path).header("Content-Type", "application/json").PUT(json(body)).build(), path);
    }

    /** POST a body as it is, with its content type (predict payloads are sent exactly as the world wrote them). */
    public JsonNode postBytes(String path, byte[] body, String contentType) {
        return send(request(path).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), path);
    }

    /** Uploads a model version: multipart {@code file} + {@code metadata}, as {@code POST /api/models/{m}/versions}. */
    public JsonNode uploadVersion(String modelId, String fileName, byte[] artifact, String metadata) {
        return postMultipart("/api/models/" + modelId + "/versions", java.util.Map.of("metadata", metadata), fileName,
                "application/octet-stream", artifact);
    }

    /** POST {@code multipart/form-data}: text fields, then one {@code file} part. */
    public JsonNode postMultipart(String path, java.util.Map<String, String> fields, String fileName,
            String fileContentType, byte[] file) {
        String boundary = "flywheel-demo-" + UUID.randomUUID();
        var body = new ByteArrayOutputStream();
        for (var field : fields.entrySet()) {
            write(body, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + field.getKey() + "\"\r\n"
                    + (field.getKey().equals("metadata") ? "Content-Type: application/json\r\n" : "") + "\r\n"
                    + field.getValue() + "\r\n");
        }
        write(body, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fileName
                + "\"\r\nContent-Type: " + fileContentType + "\r\n\r\n");
        body.writeBytes(file);
        write(body, "\r\n--" + boundary + "--\r\n");
        return send(request(path).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), path);
    }

    /** Percent-encodes a query parameter value. */
    public static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private HttpRequest.Builder request(String path) {
        var b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Accept", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private static HttpRequest.BodyPublisher json(Object body) {
        try {
            return HttpRequest.BodyPublishers.ofString(body instanceof String s ? s : JSON.writeValueAsString(body));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write the request body as JSON", e);
        }
    }

    private JsonNode send(HttpRequest request, String path) {
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new ApiError(0, "unreachable", request.method() + " " + base + path + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError(0, "interrupted", request.method() + " " + path + " was interrupted");
        }
        JsonNode node;
        try {
            node = response.body() == null || response.body().isBlank() ? JSON.createObjectNode()
                    : JSON.readTree(response.body());
        } catch (IOException e) {
            node = JSON.createObjectNode().put("message", response.body());
        }
        if (response.statusCode() >= 300) {
            throw new ApiError(response.statusCode(), node.path("error").asText("http_" + response.statusCode()),
                    request.method() + " " + path + " answered " + response.statusCode() + ": "
                            + node.path("message").asText(response.body()));
        }
        return node;
    }

    private static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A request the server refused or could not be sent; the message says which and why. */
    public static final class ApiError extends RuntimeException {
        private final int status;
        private final String code;

        ApiError(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }

        /** The HTTP status, or 0 when no answer came. */
        public int status() {
            return status;
        }

        /** The API's error code, such as {@code not_found}. */
        public String code() {
            return code;
        }
    }
}
