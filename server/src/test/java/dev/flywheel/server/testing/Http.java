package dev.flywheel.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small HTTP client for tests: the server is driven only through its public API, as users do. */
public final class Http {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;

    public Http(int port) {
        this.base = "http://127.0.0.1:" + port;
    }

    /**
     * An answer.
     *
     * @param status the HTTP status
     * @param body the body as text
     * @param contentType the Content-Type header, or empty
     */
    public record Response(int status, String body, String contentType) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (status " + status + "): " + body, e);
            }
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    public Response get(String path, String token) {
        return send(builder(path, token).GET());
    }

    public Response delete(String path, String token) {
        return send(builder(path, token).DELETE());
    }

    public Response post(String path, String token, String json) {
        return send(builder(path, token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    public Response put(String path, String token, String json) {
        return send(builder(path, token).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    public Response postBytes(String path, String token, String contentType, byte[] body) {
        return send(builder(path, token).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    /** A multipart/form-data POST with one file field. */
    public Response postFile(String path, String token, String field, String filename, byte[] content) {
        String boundary = "----flywheel" + System.nanoTime();
        var out = new java.io.ByteArrayOutputStream();
        try {
            out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\""
                    + filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes());
            out.write(content);
            out.write(("\r\n--" + boundary + "--\r\n").getBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return postBytes(path, token, "multipart/form-data; boundary=" + boundary, out.toByteArray());
    }

    /** Starts a multipart/form-data request: add parts, then {@link Multipart#post}. */
    public Multipart multipart() {
        return new Multipart();
    }

    /** A multipart/form-data body being built, part by part. */
    public final class Multipart {
        private final String boundary = "----flywheel" + System.nanoTime();
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        private Multipart() {}

        /** A plain field, such as {@code metadata} as JSON text. */
        public Multipart field(String name, String value) {
            return part("form-data; name=\"" + name + "\"", "text/plain; charset=utf-8",
                    value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        /** A file part. */
        public Multipart file(String name, String filename, String contentType, byte[] content) {
            return part("form-data; name=\"" + name + "\"; filename=\"" + filename + "\"", contentType, content);
        }

        private Multipart part(String disposition, String contentType, byte[] content) {
            try {
                out.write(("--" + boundary + "\r\nContent-Disposition: " + disposition + "\r\nContent-Type: "
                        + contentType + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                out.write(content);
                out.write("\r\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /** Sends the parts. */
        public Response post(String path, String token) {
            byte[] end = ("--" + boundary + "--\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] body = java.util.Arrays.copyOf(out.toByteArray(), out.size() + end.length);
            System.arraycopy(end, 0, body, out.size(), end.length);
            return postBytes(path, token, "multipart/form-data; boundary=" + boundary, body);
        }
    }

    /** A GET whose answer is kept as bytes (images, stored inputs). */
    public BinaryResponse getBytes(String path, String token) {
        try {
            HttpResponse<byte[]> r = client.send(builder(path, token).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            return new BinaryResponse(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * An answer kept as bytes.
     *
     * @param status the HTTP status
     * @param body the body
     * @param contentType the Content-Type header, or empty
     */
    public record BinaryResponse(int status, byte[] body, String contentType) {}

    private HttpRequest.Builder builder(String path, String token) {
        var b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private Response send(HttpRequest.Builder b) {
        try {
            HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
