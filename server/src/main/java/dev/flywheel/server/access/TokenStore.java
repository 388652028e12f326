package dev.flywheel.server.access;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/** The {@code api_token} table. */
public final class TokenStore {

    private final Jdbi jdbi;

    public TokenStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public void insert(Token t, String secretHash) {
        jdbi.useHandle(h -> h.createUpdate("""
                INSERT INTO api_token (id, name, role, deployment_id, run_id, secret_hash, created_by, created_at, expires_at)
                VALUES (:id, :name, :role, :deployment, :run, :hash, :createdBy, :createdAt, :expiresAt)
                """)
                .bind("id", t.id())
                .bind("name", t.name())
                .bind("role", t.role().apiName())
                .bind("deployment", t.deploymentId())
                .bind("run", t.runId())
                .bind("hash", secretHash)
                .bind("createdBy", t.createdBy())
                .bind("createdAt", ts(t.createdAt()))
                .bind("expiresAt", ts(t.expiresAt()))
                .execute());
    }

    public Optional<Token> findByHash(String hash) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM api_token WHERE secret_hash = :hash")
                .bind("hash", hash).map((rs, c) -> map(rs)).findOne());
    }

    public Optional<Token> find(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM api_token WHERE id = :id")
                .bind("id", id).map((rs, c) -> map(rs)).findOne());
    }

    /** Tokens in creation order (ids are time-ordered), after the given id. */
    public List<Token> list(String afterId, int limit) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT * FROM api_token WHERE (CAST(:after AS VARCHAR) IS NULL OR id > :after)
                ORDER BY id LIMIT :limit
                """).bind("after", afterId).bind("limit", limit).map((rs, c) -> map(rs)).list());
    }

    public boolean revoke(String id, Instant at) {
        return jdbi.withHandle(h -> h.createUpdate(
                "UPDATE api_token SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL")
                .bind("id", id).bind("at", ts(at)).execute()) == 1;
    }

    public long countActiveAdmins() {
        return jdbi.withHandle(h -> h.createQuery(
                "SELECT COUNT(*) FROM api_token WHERE role = 'admin' AND revoked_at IS NULL")
                .mapTo(Long.class).one());
    }

    private static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }

    private static Instant instant(ResultSet rs, String col) throws SQLException {
        Timestamp t = rs.getTimestamp(col);
        return t == null ? null : t.toInstant();
    }

    private static Token map(ResultSet rs) throws SQLException {
        return new Token(rs.getString("id"), rs.getString("name"), Role.parse(rs.getString("role")),
                rs.getString("deployment_id"), rs.getString("run_id"), rs.getString("created_by"),
                instant(rs, "created_at"), instant(rs, "expires_at"), instant(rs, "revoked_at"));
    }
}
