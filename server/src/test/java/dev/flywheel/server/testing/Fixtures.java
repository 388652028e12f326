package dev.flywheel.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The committed model fixtures ({@code fixtures/models}): genuinely trained TorchScript classifiers with their
 * {@code model.json} and inputs whose correct labels are known. The tests never generate the models they serve.
 */
public final class Fixtures {

    public static final String FEATURES = "features-3class";
    public static final String IMAGE = "image-2class";

    private Fixtures() {}

    /** The directory of one fixture model. */
    public static Path model(String name) {
        String dir = System.getProperty("flywheel.test.fixtures");
        if (dir == null) {
            throw new IllegalStateException("flywheel.test.fixtures is not set; run the tests with Maven");
        }
        return Path.of(dir, "models", name);
    }

    public static byte[] bytes(String model, String file) {
        try {
            return Files.readAllBytes(model(model).resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String text(String model, String file) {
        return new String(bytes(model, file), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** {@code features-3class/samples.json}: {@code [{"features": [...], "label": "..."}]}. */
    public static JsonNode featureSamples() {
        try {
            return new ObjectMapper().readTree(bytes(FEATURES, "samples.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Uploads a fixture model as a new model named {@code modelName}; returns the created version. */
    public static JsonNode upload(Http http, String token, String modelName, String fixture) {
        var model = http.post("/api/models", token, "{\"name\":\"" + modelName + "\"}");
        if (model.status() != 201) {
            throw new AssertionError("creating model " + modelName + ": " + model);
        }
        String modelId = model.json().path("id").asText();
        var version = http.multipart()
                .file("file", "model.pt", "application/octet-stream", bytes(fixture, "model.pt"))
                .field("metadata", text(fixture, "model.json"))
                .post("/api/models/" + modelId + "/versions", token);
        if (version.status() != 201) {
            throw new AssertionError("uploading " + fixture + ": " + version);
        }
        return version.json();
    }

    /** The id of what a create request made, after checking that it answered 201. */
    public static String createdId(Http.Response r) {
        if (r.status() != 201) {
            throw new AssertionError("expected 201 Created: " + r);
        }
        return r.json().path("id").asText();
    }

    /** Creates a deployment of a version; returns its id. */
    public static String deploy(Http http, String token, String name, String versionId, String captureMode) {
        String settings = captureMode == null ? "" : ",\"settings\":{\"capture_mode\":\"" + captureMode + "\"}";
        var r = http.post("/api/deployments", token, "{\"name\":\"" + name + "\",\"model_version_id\":\"" + versionId
                + "\"" + settings + "}");
        if (r.status() != 201) {
            throw new AssertionError("creating deployment " + name + ": " + r);
        }
        return r.json().path("id").asText();
    }
}
