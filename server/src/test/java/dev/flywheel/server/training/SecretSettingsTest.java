package dev.flywheel.server.training;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secret settings of a provisioner and a trigger: nobody reads them back through the API (viewers included), and
 * saving the settings again as the UI does (secret left empty) or as a script does (sending back what it read) keeps
 * them; null removes one; another provisioner type does not inherit them.
 */
class SecretSettingsTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;

    @TempDir
    Path dir;

    @Test
    void secretsAreMaskedAndKeptWhenSavedAgain() throws Exception {
        SecretSettingsFixture.installPlugin(dir.resolve("plugins"));
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir); var server = TestServer.start(db, dir)) {
            Http http = server.http();
            String version = Fixtures.upload(http, ADMIN, "secretive", Fixtures.FEATURES).path("id").asText();
            String d = Fixtures.deploy(http, ADMIN, "secretive", version, null);
            String path = "/api/deployments/" + d + "/continuous-training";

            var first = http.put(path, ADMIN, "{\"provisioner\": \"vault-test\", \"provisioner_config\": "
                    + "{\"api_key\": \"k-123 456\", \"region\": \"us\"}, \"triggers\": [{\"type\": \"webhook-test\", "
                    + "\"config\": {\"token\": \"t-789\"}}]}");
            assertThat(first.status()).as(first.toString()).isEqualTo(200);
            assertMasked(first.json());
            String viewer = http.post("/api/tokens", ADMIN, "{\"name\": \"looker\", \"role\": \"viewer\"}").json()
                    .path("secret").asText();
            assertMasked(http.get(path, viewer).json());
            assertThat(http.get(path, viewer).body()).doesNotContain("k-123").doesNotContain("t-789");
            assertThat(SecretSettingsFixture.stored(db, d)).contains("k-123 456").contains("t-789");

            // Saved again as the UI does: the secrets left out (the provisioner's is required), another region.
            var again = http.put(path, ADMIN, "{\"provisioner\": \"vault-test\", \"provisioner_config\": "
                    + "{\"region\": \"ap\"}, \"triggers\": [{\"type\": \"webhook-test\", \"config\": {}}]}");
            assertThat(again.status()).as(again.toString()).isEqualTo(200);
            assertThat(again.json().at("/provisioner_config/region").asText()).isEqualTo("ap");
            assertMasked(again.json());
            assertThat(SecretSettingsFixture.stored(db, d)).contains("k-123 456").contains("t-789");

            // Sent back as read (a script round-tripping GET into PUT): the mask keeps the value too.
            var roundTrip = http.put(path, ADMIN, "{\"provisioner\": \"vault-test\", \"provisioner_config\": "
                    + "{\"api_key\": \"******\"}, \"triggers\": [{\"type\": \"webhook-test\", \"config\": "
                    + "{\"token\": \"******\"}}]}");
            assertThat(roundTrip.status()).as(roundTrip.toString()).isEqualTo(200);
            assertThat(SecretSettingsFixture.stored(db, d)).contains("k-123 456").contains("t-789");

            // A new value replaces it; null removes an optional one.
            var replaced = http.put(path, ADMIN, "{\"provisioner\": \"vault-test\", \"provisioner_config\": "
                    + "{\"api_key\": \"k-new\"}, \"triggers\": [{\"type\": \"webhook-test\", \"config\": "
                    + "{\"token\": null}}]}");
            assertThat(replaced.status()).as(replaced.toString()).isEqualTo(200);
            assertThat(replaced.json().at("/triggers/0/config").has("token")).isFalse();
            assertThat(SecretSettingsFixture.stored(db, d)).contains("k-new").doesNotContain("k-123").doesNotContain("t-789");

            // Another provisioner does not inherit this one's secrets, and a required secret cannot be conjured.
            var local = http.put(path, ADMIN, "{\"provisioner\": \"local\"}");
            assertThat(local.status()).as(local.toString()).isEqualTo(200);
            assertThat(SecretSettingsFixture.stored(db, d)).doesNotContain("k-new");
            var missing = http.put(path, ADMIN, "{\"provisioner\": \"vault-test\", \"provisioner_config\": {}}");
            assertThat(missing.status()).isEqualTo(400);
            assertThat(missing.json().path("message").asText()).contains("provisioner_config.api_key: is required");
        }
    }

    private static void assertMasked(JsonNode settings) {
        assertThat(settings.at("/provisioner_config/api_key").asText()).isEqualTo("******");
        assertThat(settings.at("/triggers/0/config/token").asText()).isEqualTo("******");
    }
}
