package dev.flywheel.server.access;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
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

    private static boolean revoke(Handle h, String id, Instant at) {
        return h.createUpdate("UPDATE api_token SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL")
                .bind("id", id).bind("at", ts(at)).execute() == 1;
    }

    /** What {@link #revokeUnlessLastAdmin} did. */
    public enum Revocation { REVOKED, ALREADY_REVOKED, LAST_ADMIN }

    /**
     * Revokes a token unless it is the last live admin token. The check and the revocation are one transaction under
     * the {@code admin_tokens} lock, so concurrent revocations of different admin tokens take turns and the last one
     * sees that the others are gone (a count outside the lock saw them all still live, and all succeeded).
     */
    public Revocation revokeUnlessLastAdmin(String id, Instant at) {
        return jdbi.inTransaction(h -> {
            h.createQuery("SELECT name FROM server_lock WHERE name = 'admin_tokens' FOR UPDATE").mapTo(String.class)
                    .one();
            // Read after the lock, so it sees every revocation committed before this one got the lock.
            Optional<Token> token = h.createQuery("SELECT * FROM api_token WHERE id = :id").bind("id", id)
                    .map((rs, c) -> map(rs)).findOne();
            if (token.isEmpty() || token.get().revokedAt() != null) {
                return Revocation.ALREADY_REVOKED;
            }
            if (token.get().role() == Role.ADMIN && token.get().activeAt(at) && countActiveAdmins(h, at, id) == 0) {
                return Revocation.LAST_ADMIN;
            }
            return revoke(h, id, at) ? Revocation.REVOKED : Revocation.ALREADY_REVOKED;
        });
    }

    /** Admin tokens that work at that time: neither revoked nor expired. */
    public long countActiveAdmins(Instant now) {
        return jdbi.withHandle(h -> countActiveAdmins(h, now, null));
    }

    private static long countActiveAdmins(Handle h, Instant now, String except) {
        return h.createQuery("""
                SELECT COUNT(*) FROM api_token WHERE role = 'admin' AND revoked_at IS NULL
                AND (expires_at IS NULL OR expires_at > :now) AND (CAST(:except AS VARCHAR) IS NULL OR id <> :except)
                """).bind("now", ts(now)).bind("except", except).mapTo(Long.class).one();
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
