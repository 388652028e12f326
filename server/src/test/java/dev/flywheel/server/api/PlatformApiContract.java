package dev.flywheel.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.ServerContract;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The platform's HTTP foundation through the real server: health, metrics, errors, tokens and roles, the audit
 * trail. Written once and run on H2 and on PostgreSQL.
 */
public abstract class PlatformApiContract extends ServerContract {

    @BeforeAll
    void setUp() throws java.io.IOException {
        dir = java.nio.file.Files.createTempDirectory("flywheel-api-test");
    }

    @Test
    void healthNeedsNoTokenAndReportsTheDatabaseAndScheduler() {
        var r = http.get("/health", null);
        assertThat(r.status()).isEqualTo(200);
        JsonNode body = r.json();
        assertThat(body.path("status").asText()).isEqualTo("up");
        assertThat(body.at("/checks/database/kind").asText())
                .isEqualTo(backend() == TestDatabase.Kind.POSTGRES ? "postgresql" : "h2");
        assertThat(body.at("/checks/scheduler/status").asText()).isEqualTo("up");
    }

    @Test
    void metricsExposeJvmHttpAndFlywheelMeters() {
        http.get("/api/events", ADMIN);
        var r = http.get("/metrics", null);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("text/plain");
        assertThat(r.body())
                .contains("jvm_memory_used_bytes")
                .containsPattern("http_server_requests_seconds_count\\{[^}]*route=\"/api/events\"[^}]*status=\"200\"")
                .containsPattern("flywheel_plugins\\{state=\"started\"} [1-9]")
                .contains("flywheel_events_recorded_total");
    }

    @Test
    void everyApiRouteNeedsAToken() {
        var none = http.get("/api/events", null);
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.json().path("error").asText()).isEqualTo("unauthorized");
        assertThat(none.json().path("message").asText()).contains("Bearer");

        var wrong = http.get("/api/events", "fw_not-a-real-token-at-all");
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.json().path("message").asText()).contains("unknown, expired or revoked");
    }

    @Test
    void rolesDecideWhatATokenMayDo() {
        String viewer = createToken("dashboards", "viewer");
        String reviewer = createToken("alice", "reviewer");

        assertThat(http.get("/api/events", viewer).status()).isEqualTo(200);
        assertThat(http.get("/api/me", viewer).json().path("role").asText()).isEqualTo("viewer");

        var forbidden = http.post("/api/tokens", viewer, "{\"name\":\"x\",\"role\":\"admin\"}");
        assertThat(forbidden.status()).isEqualTo(403);
        assertThat(forbidden.json().path("error").asText()).isEqualTo("forbidden");
        assertThat(forbidden.json().path("message").asText()).contains("viewer").contains("/api/tokens");

        assertThat(http.get("/api/tokens", reviewer).status()).isEqualTo(403);
        assertThat(http.post("/api/plugins/trigger-review-threshold/disable", reviewer, "").status()).isEqualTo(403);
    }

    @Test
    void aTokenIsShownOnceStoredHashedAndCanBeRevoked() {
        var created = http.post("/api/tokens", ADMIN, "{\"name\":\"ci\",\"role\":\"engineer\",\"expires_in\":\"30d\"}");
        assertThat(created.status()).isEqualTo(201);
        String secret = created.json().path("secret").asText();
        String id = created.json().at("/token/id").asText();
        assertThat(secret).startsWith("fw_").hasSizeGreaterThan(40);
        assertThat(created.json().at("/token/expires_at").asText()).isNotEmpty();

        var listed = http.get("/api/tokens/" + id, ADMIN);
        assertThat(listed.status()).isEqualTo(200);
        assertThat(listed.body()).doesNotContain(secret).doesNotContain("secret");
        assertThat(http.get("/api/me", secret).json().path("name").asText()).isEqualTo("ci");

        assertThat(http.delete("/api/tokens/" + id, ADMIN).json().path("revoked_at").isNull()).isFalse();
        assertThat(http.get("/api/me", secret).status()).isEqualTo(401);
    }

    @Test
    void tokenRequestsAreValidated() {
        var noDeployment = http.post("/api/tokens", ADMIN, "{\"name\":\"edge\",\"role\":\"predict\"}");
        assertThat(noDeployment.status()).isEqualTo(400);
        assertThat(noDeployment.json().path("message").asText()).contains("deployment_id");

        var badRole = http.post("/api/tokens", ADMIN, "{\"name\":\"x\",\"role\":\"superuser\"}");
        assertThat(badRole.status()).isEqualTo(400);
        assertThat(badRole.json().path("message").asText()).contains("role must be one of");

        var unknownField = http.post("/api/tokens", ADMIN, "{\"name\":\"x\",\"role\":\"viewer\",\"colour\":\"red\"}");
        assertThat(unknownField.status()).isEqualTo(400);
        assertThat(unknownField.json().path("message").asText()).contains("unknown field 'colour'");

        var wrongType = http.post("/api/tokens", ADMIN, "{\"name\":[1],\"role\":\"viewer\"}");
        assertThat(wrongType.status()).isEqualTo(400);
        assertThat(wrongType.json().path("message").asText()).contains("name");

        var malformed = http.post("/api/tokens", ADMIN, "{\"name\":");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.json().path("error").asText()).isEqualTo("invalid_json");

        var badTtl = http.post("/api/tokens", ADMIN, "{\"name\":\"x\",\"role\":\"viewer\",\"expires_in\":\"soon\"}");
        assertThat(badTtl.status()).isEqualTo(400);
        assertThat(badTtl.json().path("message").asText()).contains("expires_in");
    }

    @Test
    void thePredictRoleIsScopedToItsDeployment() {
        var created = http.post("/api/tokens", ADMIN, "{\"name\":\"edge\",\"role\":\"predict\",\"deployment_id\":\"dep_1\"}");
        assertThat(created.status()).isEqualTo(201);
        String predict = created.json().path("secret").asText();
        // A predict token is not a ladder role: it may not even read.
        assertThat(http.get("/api/events", predict).status()).isEqualTo(403);
    }

    @Test
    void theLastAdminCannotBeRevoked() {
        String adminId = http.get("/api/me", ADMIN).json().path("id").asText();
        var r = http.delete("/api/tokens/" + adminId, ADMIN);
        assertThat(r.status()).isEqualTo(409);
        assertThat(r.json().path("error").asText()).isEqualTo("last_admin");
        assertThat(http.get("/api/me", ADMIN).status()).isEqualTo(200);
    }

    @Test
    void errorsAreJsonWithTheRightStatus() {
        var missing = http.get("/api/no-such-thing", ADMIN);
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().path("error").asText()).isEqualTo("not_found");

        var unknownToken = http.get("/api/tokens/tok_nope", ADMIN);
        assertThat(unknownToken.status()).isEqualTo(404);
        assertThat(unknownToken.json().path("message").asText()).isEqualTo("no token with id 'tok_nope'");

        var badLimit = http.get("/api/events?limit=0", ADMIN);
        assertThat(badLimit.status()).isEqualTo(400);
        assertThat(badLimit.json().path("message").asText()).contains("limit");

        var badCursor = http.get("/api/events?cursor=bm90LWEtbnVtYmVy", ADMIN);
        assertThat(badCursor.status()).isEqualTo(400);
    }

    @Test
    void oversizedBodiesAre413AndChangeNothing() {
        long before = countTokens();
        String huge = "{\"name\":\"" + "x".repeat(100 * 1024) + "\",\"role\":\"viewer\"}";
        var r = http.post("/api/tokens", ADMIN, huge);
        assertThat(r.status()).isEqualTo(413);
        assertThat(r.json().path("error").asText()).isEqualTo("payload_too_large");
        assertThat(countTokens()).isEqualTo(before);
    }

    @Test
    void theAuditTrailRecordsWhoDidWhatAndPagesNewestFirst() {
        createToken("audit-a", "viewer");
        createToken("audit-b", "viewer");
        createToken("audit-c", "viewer");

        var first = http.get("/api/events?type=token.created&limit=2", ADMIN).json();
        assertThat(first.path("items")).hasSize(2);
        assertThat(first.at("/items/0/type").asText()).isEqualTo("token.created");
        assertThat(first.at("/items/0/actor").asText()).startsWith("bootstrap-admin");
        assertThat(first.at("/items/0/data/role").asText()).isEqualTo("viewer");
        String cursor = first.path("next_cursor").asText();
        assertThat(cursor).isNotEmpty();

        var second = http.get("/api/events?type=token.created&limit=2&cursor=" + cursor, ADMIN).json();
        List<String> ids = new ArrayList<>();
        first.path("items").forEach(e -> ids.add(e.path("id").asText()));
        second.path("items").forEach(e -> assertThat(ids).doesNotContain(e.path("id").asText()));
        assertThat(first.at("/items/0/occurred_at").asText())
                .isGreaterThanOrEqualTo(second.at("/items/0/occurred_at").asText());

        var started = http.get("/api/events?type=server.started", ADMIN).json();
        assertThat(started.path("items")).isNotEmpty();
        assertThat(http.get("/api/events?severity=loud", ADMIN).status()).isEqualTo(400);
    }

    @Test
    void theUiIsServedAtTheRoot() {
        var r = http.get("/", null);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).contains("<title>Flywheel</title>");
    }

    private String createToken(String name, String role) {
        var r = http.post("/api/tokens", ADMIN, "{\"name\":\"" + name + "\",\"role\":\"" + role + "\"}");
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json().path("secret").asText();
    }

    private long countTokens() {
        return http.get("/api/tokens?limit=500", ADMIN).json().path("items").size();
    }
}
