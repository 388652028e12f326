package dev.flywheel.server.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.ServerContract;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The model registry through the real server and the real DJL runtime plugin: models, numbered immutable versions,
 * and uploads checked against the Model artifact contract, refused with a 400 that says why and leaving nothing
 * behind. Written once and run on H2 and on PostgreSQL.
 */
public abstract class RegistryApiContract extends ServerContract {

    @Test
    void modelsAreCreatedListedAndNamedUniquely() {
        var created = http.post("/api/models", ADMIN, "{\"name\":\"churn\"}");
        assertThat(created.status()).isEqualTo(201);
        String id = created.json().path("id").asText();
        assertThat(created.json().path("latest_version").isNull()).as(created.body()).isTrue();
        assertThat(created.json().path("created_by").asText()).contains("admin");

        assertThat(http.get("/api/models/" + id, ADMIN).json().path("name").asText()).isEqualTo("churn");
        assertThat(http.get("/api/models?limit=500", ADMIN).json().path("items").findValuesAsText("name"))
                .contains("churn");

        var duplicate = http.post("/api/models", ADMIN, "{\"name\":\"churn\"}");
        assertThat(duplicate.status()).isEqualTo(409);
        assertThat(duplicate.json().path("error").asText()).isEqualTo("model_exists");
        assertThat(http.post("/api/models", ADMIN, "{}").json().path("message").asText()).contains("name");
        assertThat(http.get("/api/models/mdl_nope", ADMIN).status()).isEqualTo(404);

        var event = http.get("/api/events?type=model.created&subject_id=" + id, ADMIN).json().path("items");
        assertThat(event).hasSize(1);
        assertThat(event.get(0).path("actor").asText()).contains("admin");
    }

    @Test
    void aTorchScriptClassifierIsRegisteredAsNumberedImmutableVersions() throws Exception {
        String modelId = createModel("iris");
        byte[] pt = Fixtures.bytes(Fixtures.FEATURES, "model.pt");

        JsonNode v1 = upload(modelId, pt, Fixtures.text(Fixtures.FEATURES, "model.json")).json();
        JsonNode v2 = upload(modelId, pt, Fixtures.text(Fixtures.FEATURES, "model.json")).json();
        assertThat(v1.path("version").asInt()).isEqualTo(1);
        assertThat(v2.path("version").asInt()).isEqualTo(2);
        assertThat(v1.path("model_id").asText()).isEqualTo(modelId);
        assertThat(v1.path("format").asText()).isEqualTo("torchscript");
        assertThat(v1.at("/metadata/labels").toString()).contains("setosa-like", "versicolor-like", "virginica-like");
        assertThat(v1.at("/metadata/input/size").asInt()).isEqualTo(4);
        assertThat(v1.path("artifact_file").asText()).isEqualTo("model.pt");
        assertThat(v1.path("artifact_size").asLong()).isEqualTo(pt.length);

        // Content-addressed: the address is the SHA-256 of the file, and identical uploads share one blob.
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(pt));
        assertThat(v1.path("artifact_sha256").asText()).isEqualTo(sha);
        assertThat(v2.path("artifact_sha256").asText()).isEqualTo(sha);
        Path blob = blobsDir().resolve(sha.substring(0, 2)).resolve(sha.substring(2, 4)).resolve(sha);
        assertThat(blob).exists().hasBinaryContent(pt);

        var listed = http.get("/api/models/" + modelId + "/versions?limit=1", ADMIN).json();
        assertThat(listed.path("items").get(0).path("version").asInt()).isEqualTo(1);
        var next = http.get("/api/models/" + modelId + "/versions?limit=1&cursor=" + listed.path("next_cursor").asText(),
                ADMIN).json();
        assertThat(next.path("items").get(0).path("version").asInt()).isEqualTo(2);
        assertThat(next.path("next_cursor").isNull()).isTrue();
        assertThat(http.get("/api/models/" + modelId, ADMIN).json().path("latest_version").asInt()).isEqualTo(2);

        var got = http.get("/api/model-versions/" + v2.path("id").asText(), ADMIN);
        assertThat(got.status()).isEqualTo(200);
        assertThat(got.json().path("version").asInt()).isEqualTo(2);
        var lineage = http.get("/api/model-versions/" + v2.path("id").asText() + "/lineage", ADMIN).json();
        assertThat(lineage.path("model_version_id").asText()).isEqualTo(v2.path("id").asText());
        assertThat(lineage.path("parent_version_id").isNull()).isTrue();
        assertThat(lineage.path("training_run_id").isNull()).isTrue();
        assertThat(lineage.path("dataset_version_ids").isArray()).isTrue();
        assertThat(lineage.path("dataset_version_ids")).isEmpty();
        assertThat(http.get("/api/model-versions/mv_nope", ADMIN).status()).isEqualTo(404);

        var events = http.get("/api/events?type=model_version.registered&subject_id=" + v1.path("id").asText(), ADMIN)
                .json().path("items");
        assertThat(events).hasSize(1);
        assertThat(events.get(0).at("/data/version").asInt()).isEqualTo(1);
    }

    @Test
    void anImageClassifierIsRegisteredWithItsNormalisation() {
        String modelId = createModel("colours");
        var r = upload(modelId, Fixtures.bytes(Fixtures.IMAGE, "model.pt"), Fixtures.text(Fixtures.IMAGE, "model.json"));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        assertThat(r.json().at("/metadata/input/kind").asText()).isEqualTo("image");
        assertThat(r.json().at("/metadata/input/mean").toString()).isEqualTo("[0.5,0.5,0.5]");
        assertThat(r.json().at("/metadata/output").asText()).isEqualTo("probabilities");
    }

    @Test
    void theMetadataPartCanAlsoBeAFile() {
        String modelId = createModel("metadata-as-file");
        var r = http.multipart()
                .file("file", "model.pt", "application/octet-stream", Fixtures.bytes(Fixtures.FEATURES, "model.pt"))
                .file("metadata", "model.json", "application/json", Fixtures.bytes(Fixtures.FEATURES, "model.json"))
                .post("/api/models/" + modelId + "/versions", ADMIN);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
    }

    @Test
    void corruptOrNonTorchScriptFilesAreRefusedAndNothingIsStored() throws IOException {
        String modelId = createModel("broken");
        String metadata = Fixtures.text(Fixtures.FEATURES, "model.json");
        byte[] pt = Fixtures.bytes(Fixtures.FEATURES, "model.pt");
        List<byte[]> bad = List.of(
                "this is not a model at all".getBytes(),
                java.util.Arrays.copyOf(pt, pt.length / 2),
                Fixtures.bytes(Fixtures.IMAGE, "red.png"));
        long blobsBefore = blobCount();
        for (byte[] file : bad) {
            var r = upload(modelId, file, metadata);
            assertThat(r.status()).as(r.toString()).isEqualTo(400);
            assertThat(r.json().path("error").asText()).isEqualTo("invalid_model");
            assertThat(r.json().path("message").asText()).contains("TorchScript");
        }
        assertNothingStored(modelId, blobsBefore);
    }

    @Test
    void metadataThatDoesNotFitTheModelIsRefusedByTheDryRun() throws IOException {
        String modelId = createModel("mismatched");
        byte[] pt = Fixtures.bytes(Fixtures.FEATURES, "model.pt");
        long blobsBefore = blobCount();
        var wrongSize = upload(modelId, pt, """
                {"format": "torchscript", "task": "classification", "labels": ["a", "b", "c"],
                 "input": {"kind": "features", "size": 7}, "output": "logits"}""");
        assertThat(wrongSize.status()).as(wrongSize.toString()).isEqualTo(400);
        assertThat(wrongSize.json().path("error").asText()).isEqualTo("invalid_model");

        var wrongLabels = upload(modelId, pt, """
                {"format": "torchscript", "task": "classification", "labels": ["a", "b"],
                 "input": {"kind": "features", "size": 4}, "output": "logits"}""");
        assertThat(wrongLabels.status()).as(wrongLabels.toString()).isEqualTo(400);
        assertThat(wrongLabels.json().path("error").asText()).isEqualTo("invalid_model");
        assertNothingStored(modelId, blobsBefore);
    }

    @Test
    void metadataOutsideTheContractIsRefusedNamingTheField() throws IOException {
        String modelId = createModel("contract");
        byte[] pt = Fixtures.bytes(Fixtures.FEATURES, "model.pt");
        long blobsBefore = blobCount();
        String ok = "\"task\": \"classification\", \"input\": {\"kind\": \"features\", \"size\": 4}, \"output\": \"logits\"";
        var cases = new java.util.LinkedHashMap<String, String>();
        cases.put("{\"format\": \"onnx\", \"labels\": [\"a\",\"b\",\"c\"], " + ok + "}", "metadata.format");
        cases.put("{\"format\": \"torchscript\", " + ok + "}", "metadata.labels");
        cases.put("{\"format\": \"torchscript\", \"labels\": [], " + ok + "}", "metadata.labels");
        cases.put("{\"format\": \"torchscript\", \"labels\": [\"a\",\"a\",\"c\"], " + ok + "}", "repeats 'a'");
        cases.put("{\"format\": \"torchscript\", \"labels\": [\"a\",\"b\",3], " + ok + "}", "metadata.labels[2]");
        cases.put("{\"format\": \"torchscript\", \"labels\": [\"a\",\"b\",\"c\"], \"task\": \"detection\", "
                + "\"input\": {\"kind\": \"features\", \"size\": 4}, \"output\": \"logits\"}", "metadata.task");
        cases.put("{\"format\": \"torchscript\", \"labels\": [\"a\",\"b\",\"c\"], \"task\": \"classification\", "
                + "\"input\": {\"kind\": \"audio\"}, \"output\": \"logits\"}", "metadata.input.kind");
        cases.put("{\"format\": \"torchscript\", \"labels\": [\"a\",\"b\",\"c\"], \"task\": \"classification\", "
                + "\"input\": {\"kind\": \"features\", \"size\": 0}, \"output\": \"logits\"}", "metadata.input.size");
        cases.put("{\"format\": \"torchscript\", \"labels\": [\"a\",\"b\",\"c\"], \"task\": \"classification\", "
                + "\"input\": {\"kind\": \"image\", \"width\": 16, \"height\": 16, \"channels\": 3, \"mean\": [0.5]}, "
                + "\"output\": \"logits\"}", "metadata.input.mean");
        cases.put("{\"format\": \"torchscript\", \"labels\": [\"a\",\"b\",\"c\"], \"task\": \"classification\", "
                + "\"input\": {\"kind\": \"features\", \"size\": 4}, \"output\": \"softmax\"}", "metadata.output");
        cases.put("{\"format\": \"torchscript\", \"labels\": [\"a\",\"b\",\"c\"], \"ouput\": \"logits\", "
                + "\"task\": \"classification\", \"input\": {\"kind\": \"features\", \"size\": 4}}", "'ouput'");
        cases.put("{not json", "not valid JSON");
        for (var c : cases.entrySet()) {
            var r = upload(modelId, pt, c.getKey());
            assertThat(r.status()).as(c.getKey() + " -> " + r).isEqualTo(400);
            assertThat(r.json().path("error").asText()).as(c.getKey()).isEqualTo("invalid_metadata");
            assertThat(r.json().path("message").asText()).as(c.getKey()).contains(c.getValue());
        }
        var noMetadata = http.multipart().file("file", "model.pt", "application/octet-stream", pt)
                .post("/api/models/" + modelId + "/versions", ADMIN);
        assertThat(noMetadata.status()).isEqualTo(400);
        assertThat(noMetadata.json().path("message").asText()).contains("metadata");
        var noFile = http.multipart().field("metadata", Fixtures.text(Fixtures.FEATURES, "model.json"))
                .post("/api/models/" + modelId + "/versions", ADMIN);
        assertThat(noFile.status()).isEqualTo(400);
        assertThat(noFile.json().path("message").asText()).contains("'file'");
        var notMultipart = http.post("/api/models/" + modelId + "/versions", ADMIN, "{}");
        assertThat(notMultipart.status()).isEqualTo(415);
        assertNothingStored(modelId, blobsBefore);
    }

    @Test
    void onlyEngineersAndAdminsUpload() {
        String modelId = createModel("guarded");
        String viewer = http.post("/api/tokens", ADMIN, "{\"name\":\"v\",\"role\":\"viewer\"}").json().path("secret").asText();
        var r = http.multipart()
                .file("file", "model.pt", "application/octet-stream", Fixtures.bytes(Fixtures.FEATURES, "model.pt"))
                .field("metadata", Fixtures.text(Fixtures.FEATURES, "model.json"))
                .post("/api/models/" + modelId + "/versions", viewer);
        assertThat(r.status()).isEqualTo(403);
        assertThat(http.post("/api/models", viewer, "{\"name\":\"x\"}").status()).isEqualTo(403);
        assertThat(http.get("/api/models/" + modelId, viewer).status()).isEqualTo(200);
    }

    private void assertNothingStored(String modelId, long blobsBefore) throws IOException {
        assertThat(http.get("/api/models/" + modelId + "/versions", ADMIN).json().path("items")).isEmpty();
        assertThat(http.get("/api/models/" + modelId, ADMIN).json().path("latest_version").isNull()).isTrue();
        assertThat(blobCount()).isEqualTo(blobsBefore);
        try (Stream<Path> staged = Files.list(server.server().settings().dataDir().resolve("tmp").resolve("uploads"))) {
            assertThat(staged).isEmpty();
        }
    }

    private String createModel(String name) {
        var r = http.post("/api/models", ADMIN, "{\"name\":\"" + name + "\"}");
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json().path("id").asText();
    }

    private Http.Response upload(String modelId, byte[] file, String metadata) {
        return http.multipart()
                .file("file", "model.pt", "application/octet-stream", file)
                .field("metadata", metadata)
                .post("/api/models/" + modelId + "/versions", ADMIN);
    }

    private Path blobsDir() {
        return server.server().settings().dataDir().resolve("blobs");
    }

    private long blobCount() throws IOException {
        try (Stream<Path> files = Files.walk(blobsDir())) {
            return files.filter(Files::isRegularFile).count();
        }
    }
}
