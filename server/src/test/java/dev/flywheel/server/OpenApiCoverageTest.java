package dev.flywheel.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import io.javalin.router.ParsedEndpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every route the server registers is in {@code /openapi.json}, with its access rule and resolvable schemas. */
class OpenApiCoverageTest {

    @TempDir
    Path dir;

    @Test
    void everyRegisteredRouteIsDocumented() {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir); var server = TestServer.start(db, dir)) {
            JsonNode doc = server.http().get("/openapi.json", null).json();
            assertThat(doc.path("openapi").asText()).isEqualTo("3.1.0");

            List<String> registered = new ArrayList<>();
            for (ParsedEndpoint e : server.server().javalin().unsafe.internalRouter.allHttpHandlers()) {
                if (e.endpoint.method.isHttpMethod()) {
                    registered.add(e.endpoint.method.name().toLowerCase(Locale.ROOT) + " " + e.endpoint.path);
                }
            }
            assertThat(registered).contains("get /health", "get /api/events", "post /api/plugins", "post /api/tokens");

            Set<String> documented = new HashSet<>();
            doc.path("paths").fields().forEachRemaining(p -> p.getValue().fieldNames()
                    .forEachRemaining(m -> documented.add(m + " " + p.getKey())));
            assertThat(documented).containsAll(registered);

            doc.path("paths").forEach(path -> path.forEach(op -> {
                assertThat(op.path("summary").asText()).isNotBlank();
                assertThat(op.path("x-flywheel-access").asText()).isNotBlank();
            }));
            // Every $ref points at a schema that exists.
            List<String> refs = doc.findValuesAsText("$ref");
            assertThat(refs).isNotEmpty();
            for (String ref : refs) {
                String name = ref.substring(ref.lastIndexOf('/') + 1);
                assertThat(doc.at("/components/schemas/" + name).isMissingNode()).as(ref).isFalse();
            }
        }
    }
}
