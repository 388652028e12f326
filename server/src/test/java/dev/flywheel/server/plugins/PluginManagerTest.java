package dev.flywheel.server.plugins;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestPluginJars;
import dev.flywheel.server.testing.TestServer;
import dev.flywheel.testplugins.ExplodingPlugin;
import dev.flywheel.testplugins.PatientPromotionPolicyFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin manager with real PF4J jars: the distribution's plugins built by this build, plus jars built here for
 * an extension point without a shipped plugin yet and for plugins broken on purpose.
 */
class PluginManagerTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;

    @TempDir
    Path dir;

    @Test
    void loadsBuiltPluginsAndContainsBrokenOnes() throws IOException {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir)) {
            Path plugins = Files.createDirectories(dir.resolve("plugins"));
            for (Path jar : TestServer.builtPlugins()) {
                Files.createSymbolicLink(plugins.resolve(jar.getFileName()), jar.toAbsolutePath());
            }
            Files.write(plugins.resolve("broken.jar"), "this is not a jar".getBytes());
            explodingJar(plugins.resolve("exploding-1.0.0.jar"), "exploding");
            TestPluginJars.build(plugins.resolve("future-1.0.0.jar"), "future", "1.0.0", ">=99.0.0", null,
                    List.of(PatientPromotionPolicyFactory.class), List.of(PatientPromotionPolicyFactory.class));

            try (var server = TestServer.start(TestServer.settings(db, dir, plugins))) {
                Http http = server.http();
                assertThat(http.get("/health", null).json().path("status").asText()).isEqualTo("up");

                JsonNode list = http.get("/api/plugins", ADMIN).json().path("items");
                JsonNode trigger = byId(list, "trigger-review-threshold");
                assertThat(trigger.path("state").asText()).isEqualTo("started");
                assertThat(trigger.path("version").asText()).isEqualTo("0.1.0");
                JsonNode ext = trigger.at("/extensions/retraining_trigger/0");
                assertThat(ext.path("type").asText()).isEqualTo("review-threshold");
                assertThat(ext.at("/config_schema/0/name").asText()).isEqualTo("threshold");
                assertThat(ext.at("/config_schema/0/kind").asText()).isEqualTo("integer");
                assertThat(ext.at("/config_schema/0/default_value").asLong()).isEqualTo(1000);
                assertThat(ext.at("/config_schema/0/minimum").asDouble()).isEqualTo(1.0);

                JsonNode broken = byId(list, "broken.jar");
                assertThat(broken.path("state").asText()).isEqualTo("failed");
                assertThat(broken.path("error").asText()).contains("cannot load broken.jar");

                JsonNode exploding = byId(list, "exploding");
                assertThat(exploding.path("state").asText()).isEqualTo("failed");
                assertThat(exploding.path("error").asText()).contains("boom");

                JsonNode future = byId(list, "future");
                assertThat(future.path("state").asText()).isEqualTo("disabled");
                assertThat(future.path("error").asText()).contains("requires Flywheel SPI >=99.0.0");
                assertThat(future.path("extensions").size()).isZero();

                JsonNode failures = http.get("/api/events?type=plugin.failed", ADMIN).json().path("items");
                assertThat(failures.findValuesAsText("subject_id")).contains("broken.jar", "exploding", "future");
                assertThat(failures.findValuesAsText("severity")).containsOnly("error");

                var extensions = http.get("/api/extensions?point=retraining_trigger", ADMIN).json();
                assertThat(extensions.at("/retraining_trigger/0/type").asText()).isEqualTo("review-threshold");
                assertThat(extensions.at("/retraining_trigger/0/plugin_id").asText()).isEqualTo("trigger-review-threshold");
                assertThat(http.get("/api/extensions?point=nonsense", ADMIN).status()).isEqualTo(400);

                var deleted = http.delete("/api/plugins/broken.jar", ADMIN);
                assertThat(deleted.status()).isEqualTo(204);
                assertThat(plugins.resolve("broken.jar")).doesNotExist();
            }
        }
    }

    @Test
    void uploadsEnablesDisablesAndDeletesWithoutARestart() throws IOException {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir)) {
            Path plugins = Files.createDirectories(dir.resolve("plugins"));
            Path build = Files.createDirectories(dir.resolve("build"));
            // Larger than the server's ordinary body limit (64 KiB in tests): the upload route allows more.
            byte[] patient = TestPluginJars.bytes(TestPluginJars.build(build.resolve("patient.jar"), "promoter-patient",
                    "1.2.0", ">=0.1.0", null, List.of(PatientPromotionPolicyFactory.class),
                    List.of(PatientPromotionPolicyFactory.class), 300 * 1024));
            assertThat(patient.length).isGreaterThan(64 * 1024);

            try (var server = TestServer.start(TestServer.settings(db, dir, plugins))) {
                Http http = server.http();
                String reviewer = http.post("/api/tokens", ADMIN, "{\"name\":\"r\",\"role\":\"reviewer\"}").json()
                        .path("secret").asText();
                assertThat(http.postFile("/api/plugins", reviewer, "file", "p.jar", patient).status()).isEqualTo(403);

                var up = http.postFile("/api/plugins", ADMIN, "file", "patient.jar", patient);
                assertThat(up.status()).as(up.toString()).isEqualTo(201);
                assertThat(up.json().path("state").asText()).isEqualTo("started");
                assertThat(up.json().at("/extensions/promotion_policy/0/type").asText()).isEqualTo("patient");
                assertThat(files(plugins)).containsExactly("promoter-patient-1.2.0.jar");
                assertThat(http.get("/api/extensions", ADMIN).json().at("/promotion_policy/0/config_schema/0/name")
                        .asText()).isEqualTo("samples");

                var again = http.postBytes("/api/plugins", ADMIN, "application/java-archive", patient);
                assertThat(again.status()).isEqualTo(409);
                assertThat(again.json().path("message").asText()).contains("already installed");

                var garbage = http.postFile("/api/plugins", ADMIN, "file", "x.jar", "not a jar".getBytes());
                assertThat(garbage.status()).isEqualTo(400);
                assertThat(garbage.json().path("error").asText()).isEqualTo("invalid_plugin");

                byte[] exploding = TestPluginJars.bytes(explodingJar(build.resolve("e.jar"), "exploding-upload"));
                var boom = http.postFile("/api/plugins", ADMIN, "file", "e.jar", exploding);
                assertThat(boom.status()).isEqualTo(400);
                assertThat(boom.json().path("message").asText()).contains("failed to start").contains("boom");

                byte[] future = TestPluginJars.bytes(TestPluginJars.build(build.resolve("f.jar"), "future", "1.0.0",
                        ">=99.0.0", null, List.of(), List.of()));
                var incompatible = http.postFile("/api/plugins", ADMIN, "file", "f.jar", future);
                assertThat(incompatible.status()).isEqualTo(400);
                assertThat(incompatible.json().path("error").asText()).isEqualTo("incompatible_plugin");

                assertThat(http.postBytes("/api/plugins", ADMIN, "text/plain", patient).status()).isEqualTo(415);
                // Nothing refused was kept.
                assertThat(files(plugins)).containsExactly("promoter-patient-1.2.0.jar");

                var disabled = http.post("/api/plugins/promoter-patient/disable", ADMIN, "");
                assertThat(disabled.json().path("state").asText()).isEqualTo("disabled");
                assertThat(http.get("/api/extensions", ADMIN).json().has("promotion_policy")).isFalse();
            }

            // Disabled stays disabled across a restart.
            try (var server = TestServer.start(TestServer.settings(db, dir, plugins))) {
                Http http = server.http();
                assertThat(http.get("/api/plugins/promoter-patient", ADMIN).json().path("state").asText())
                        .isEqualTo("disabled");
                var enabled = http.post("/api/plugins/promoter-patient/enable", ADMIN, "");
                assertThat(enabled.json().path("state").asText()).isEqualTo("started");
                assertThat(http.get("/api/extensions", ADMIN).json().at("/promotion_policy/0/type").asText())
                        .isEqualTo("patient");

                assertThat(http.delete("/api/plugins/promoter-patient", ADMIN).status()).isEqualTo(204);
                assertThat(http.get("/api/plugins/promoter-patient", ADMIN).status()).isEqualTo(404);
                assertThat(files(plugins)).doesNotContain("promoter-patient-1.2.0.jar");
                assertThat(http.get("/api/events?type=plugin.", ADMIN).json().path("items").findValuesAsText("type"))
                        .contains("plugin.installed", "plugin.disabled", "plugin.enabled", "plugin.deleted");
            }
        }
    }

    private static Path explodingJar(Path target, String id) {
        return TestPluginJars.build(target, id, "1.0.0", ">=0.1.0", ExplodingPlugin.class,
                List.of(ExplodingPlugin.class), List.of());
    }

    private static JsonNode byId(JsonNode list, String id) {
        for (JsonNode p : list) {
            if (p.path("id").asText().equals(id)) {
                return p;
            }
        }
        throw new AssertionError("no plugin " + id + " in " + list);
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jar")).sorted().toList();
        }
    }
}
