package dev.flywheel.server.datasets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.ServerContract;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;

/** Datasets, versions, items and the export in the training job contract's layout, on H2 and PostgreSQL. */
public abstract class DatasetsApiContract extends ServerContract {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void featuresAndImagesGoInAndTheExportHandsThemBackUnchanged() throws IOException {
        String version = newVersion("animals-" + System.nanoTime(), "[\"red\", \"blue\"]");

        var f = http.post("/api/dataset-versions/" + version + "/items", ADMIN,
                "{\"features\": [0.5, -1.25, 3], \"label\": \"red\", \"split\": \"validation\"}");
        assertThat(f.status()).as(f.toString()).isEqualTo(201);
        assertThat(f.json().path("content_type").asText()).isEqualTo("application/json");
        assertThat(f.json().path("split").asText()).isEqualTo("validation");

        byte[] png = Fixtures.bytes(Fixtures.IMAGE, "blue.png");
        var img = http.multipart().file("file", "blue.png", "image/png", png).field("label", "blue")
                .post("/api/dataset-versions/" + version + "/items", ADMIN);
        assertThat(img.status()).as(img.toString()).isEqualTo(201);
        assertThat(img.json().path("content_type").asText()).isEqualTo("image/png");
        assertThat(img.json().path("split").asText()).isIn("train", "validation");

        byte[] jpg = Fixtures.bytes(Fixtures.IMAGE, "red.jpg");
        var jpeg = http.multipart().file("file", "red.jpg", "image/jpeg", jpg).field("label", "red").field("split", "train")
                .post("/api/dataset-versions/" + version + "/items", ADMIN);
        assertThat(jpeg.json().path("content_type").asText()).isEqualTo("image/jpeg");

        JsonNode v = http.get("/api/dataset-versions/" + version, ADMIN).json();
        assertThat(v.path("item_count").asLong()).isEqualTo(3);
        assertThat(v.path("high_water_mark").asLong()).isEqualTo(jpeg.json().path("seq").asLong());
        assertThat(v.path("train_count").asLong() + v.path("validation_count").asLong()).isEqualTo(3);

        var export = http.getBytes("/api/dataset-versions/" + version + "/export", ADMIN);
        assertThat(export.status()).isEqualTo(200);
        assertThat(export.contentType()).startsWith("application/zip");
        Map<String, byte[]> files = unzip(export.body());
        List<JsonNode> manifest = manifest(files);
        assertThat(manifest).hasSize(3);
        assertThat(manifest).extracting(m -> m.path("label").asText()).containsExactly("red", "blue", "red");
        for (JsonNode line : manifest) {
            assertThat(line.fieldNames()).toIterable().contains("id", "asset", "content_type", "label", "split");
            assertThat(files).containsKey(line.path("asset").asText());
        }
        assertThat(files.get(manifest.get(1).path("asset").asText())).isEqualTo(png);
        assertThat(files.get(manifest.get(2).path("asset").asText())).isEqualTo(jpg);
        JsonNode features = JSON.readTree(files.get(manifest.get(0).path("asset").asText()));
        assertThat(features.path("features").toString()).isEqualTo("[0.5,-1.25,3.0]");
        assertThat(manifest.get(0).path("asset").asText()).endsWith(".json");

        // A training run's high-water mark pins what it sees.
        long first = f.json().path("seq").asLong();
        Map<String, byte[]> pinned = unzip(http.getBytes("/api/dataset-versions/" + version + "/export?up_to=" + first,
                ADMIN).body());
        assertThat(manifest(pinned)).hasSize(1);
    }

    @Test
    void labelsSplitsAndBadItemsAreRefusedAndChangeNothing() {
        String version = newVersion("strict-" + System.nanoTime(), "[\"cat\", \"dog\"]");
        String items = "/api/dataset-versions/" + version + "/items";

        var wrongLabel = http.post(items, ADMIN, "{\"features\": [1], \"label\": \"bird\"}");
        assertThat(wrongLabel.status()).isEqualTo(400);
        assertThat(wrongLabel.json().path("message").asText()).contains("'bird'").contains("[cat, dog]");
        assertThat(http.post(items, ADMIN, "{\"features\": [1], \"label\": \"cat\", \"split\": \"test\"}").status())
                .isEqualTo(400);
        assertThat(http.post(items, ADMIN, "{\"features\": [], \"label\": \"cat\"}").status()).isEqualTo(400);
        assertThat(http.post(items, ADMIN, "{\"features\": [\"x\"], \"label\": \"cat\"}").status()).isEqualTo(400);
        assertThat(http.post(items, ADMIN, "{\"label\": \"cat\"}").status()).isEqualTo(400);
        var notAnImage = http.multipart().file("file", "x.png", "image/png", "not an image".getBytes())
                .field("label", "cat").post(items, ADMIN);
        assertThat(notAnImage.status()).isEqualTo(400);
        assertThat(notAnImage.json().path("message").asText()).contains("PNG or JPEG");
        assertThat(http.postBytes(items, ADMIN, "text/plain", "hello".getBytes()).status()).isEqualTo(415);
        assertThat(http.get("/api/dataset-versions/" + version, ADMIN).json().path("item_count").asLong()).isZero();

        assertThat(http.post("/api/dataset-versions/dsv_nope/items", ADMIN, "{\"features\": [1], \"label\": \"cat\"}")
                .status()).isEqualTo(404);
    }

    @Test
    void splitsAreDeterministicAndFollowTheValidationFraction() {
        String dataset = http.post("/api/datasets", ADMIN, "{\"name\": \"split-" + System.nanoTime() + "\"}").json()
                .path("id").asText();
        String a = http.post("/api/datasets/" + dataset + "/versions", ADMIN,
                "{\"name\": \"a\", \"validation_fraction\": 0.25}").json().path("id").asText();
        String b = http.post("/api/datasets/" + dataset + "/versions", ADMIN,
                "{\"name\": \"b\", \"validation_fraction\": 0.25}").json().path("id").asText();
        int validation = 0;
        for (int i = 0; i < 200; i++) {
            String body = "{\"features\": [" + i + ", " + (i * 7 % 13) + "], \"label\": \"l" + (i % 3) + "\"}";
            String sa = http.post("/api/dataset-versions/" + a + "/items", ADMIN, body).json().path("split").asText();
            String sb = http.post("/api/dataset-versions/" + b + "/items", ADMIN, body).json().path("split").asText();
            assertThat(sa).isEqualTo(sb);
            if (sa.equals("validation")) {
                validation++;
            }
        }
        // 200 draws at p = 0.25: mean 50, sd about 6.1; the bounds are over 3 sd away.
        assertThat(validation).isBetween(30, 70);
    }

    @Test
    void datasetsAndVersionsAreNamedUniquelyListedAndPaged() {
        String name = "paged-" + System.nanoTime();
        var created = http.post("/api/datasets", ADMIN, "{\"name\": \"" + name + "\", \"description\": \"d\"}");
        assertThat(created.status()).isEqualTo(201);
        assertThat(http.post("/api/datasets", ADMIN, "{\"name\": \"" + name + "\"}").status()).isEqualTo(409);
        String id = created.json().path("id").asText();
        assertThat(http.post("/api/datasets/" + id + "/versions", ADMIN, "{\"name\": \"v1\"}").status()).isEqualTo(201);
        assertThat(http.post("/api/datasets/" + id + "/versions", ADMIN, "{\"name\": \"v1\"}").status()).isEqualTo(409);
        assertThat(http.post("/api/datasets/" + id + "/versions", ADMIN, "{\"name\": \"v2\", \"labels\": []}").status())
                .isEqualTo(400);
        assertThat(http.post("/api/datasets/" + id + "/versions", ADMIN,
                "{\"name\": \"v3\", \"validation_fraction\": 1}").status()).isEqualTo(400);
        assertThat(http.get("/api/datasets/" + id + "/versions", ADMIN).json().path("items")).hasSize(1);

        String version = http.get("/api/datasets/" + id + "/versions", ADMIN).json().at("/items/0/id").asText();
        for (int i = 0; i < 5; i++) {
            http.post("/api/dataset-versions/" + version + "/items", ADMIN, "{\"features\": [" + i + "], \"label\": \"x\"}");
        }
        var page1 = http.get("/api/dataset-versions/" + version + "/items?limit=3", ADMIN).json();
        assertThat(page1.path("items")).hasSize(3);
        var page2 = http.get("/api/dataset-versions/" + version + "/items?limit=3&cursor=" + page1.path("next_cursor")
                .asText(), ADMIN).json();
        assertThat(page2.path("items")).hasSize(2);
        assertThat(page2.path("next_cursor").isNull()).isTrue();
        assertThat(page2.at("/items/0/seq").asLong()).isGreaterThan(page1.at("/items/2/seq").asLong());

        String viewer = http.post("/api/tokens", ADMIN, "{\"name\": \"v\", \"role\": \"viewer\"}").json().path("secret")
                .asText();
        assertThat(http.get("/api/datasets/" + id, viewer).status()).isEqualTo(200);
        assertThat(http.post("/api/datasets", viewer, "{\"name\": \"nope\"}").status()).isEqualTo(403);
        assertThat(http.getBytes("/api/dataset-versions/" + version + "/export", viewer).status()).isEqualTo(403);
    }

    private String newVersion(String datasetName, String labelsJson) {
        var d = http.post("/api/datasets", ADMIN, "{\"name\": \"" + datasetName + "\"}");
        assertThat(d.status()).as(d.toString()).isEqualTo(201);
        var v = http.post("/api/datasets/" + d.json().path("id").asText() + "/versions", ADMIN,
                "{\"name\": \"v1\", \"labels\": " + labelsJson + "}");
        assertThat(v.status()).as(v.toString()).isEqualTo(201);
        return v.json().path("id").asText();
    }

    static Map<String, byte[]> unzip(byte[] zip) throws IOException {
        var files = new LinkedHashMap<String, byte[]>();
        try (var in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                files.put(e.getName(), in.readAllBytes());
            }
        }
        return files;
    }

    static List<JsonNode> manifest(Map<String, byte[]> files) throws IOException {
        var out = new ArrayList<JsonNode>();
        for (String line : new String(files.get("manifest.jsonl"), StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }
}
