package dev.flywheel.server.access;

import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Page;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.persistence.Ids;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Creates, checks and revokes API tokens. Secrets are random and only their SHA-256 is stored, so a database dump
 * reveals no usable token; a secret is shown once, when it is created.
 */
public final class TokenService {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TokenService.class);

    /** Every secret starts with this, so leaked tokens are easy to spot in logs and by secret scanners. */
    public static final String SECRET_PREFIX = "fw_";

    /** How long a checked token is trusted before the database is asked again (revocation on other nodes). */
    private static final Duration CACHE_TTL = Duration.ofSeconds(5);

    private final TokenStore store;
    private final EventService events;
    private final Clock clock;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    /** Counts revocations, so a check that read a token just before it was revoked does not cache it afterwards. */
    private final AtomicLong revocations = new AtomicLong();

    private record Cached(Token token, Instant checkedAt) {}

    /**
     * A newly created token and its secret, which is never shown again.
     *
     * @param token the stored token
     * @param secret the bearer secret
     */
    public record Created(Token token, String secret) {}

    public TokenService(TokenStore store, EventService events, Clock clock) {
        this.store = store;
        this.events = events;
        this.clock = clock;
    }

    /**
     * Makes sure an admin can get in: the {@code FLYWHEEL_ADMIN_TOKEN} secret becomes an admin token if it is not
     * one yet; without it, and with no admin at all, one is generated.
     *
     * @param configuredSecret the configured secret, or {@code null}
     * @return the generated secret, to be printed once, if one was generated
     */
    public Optional<String> bootstrapAdmin(String configuredSecret) {
        if (configuredSecret != null) {
            Optional<Token> existing = store.findByHash(hash(configuredSecret));
            if (existing.isEmpty()) {
                store.insert(new Token(Ids.next("tok"), "bootstrap-admin", Role.ADMIN, null, null, null, clock.instant(),
                        null, null), hash(configuredSecret));
                events.event("token.created", "admin token created from FLYWHEEL_ADMIN_TOKEN").record();
            } else if (!existing.get().activeAt(clock.instant()) && store.countActiveAdmins(clock.instant()) == 0) {
                // A revoked secret is never brought back by a restart; the operator makes a new one on the host.
                LOG.warn("FLYWHEEL_ADMIN_TOKEN names a revoked or expired token and no admin token works; create one "
                        + "with 'flywheel admin reset-token' on this host (see the operator guide)");
            }
            return Optional.empty();
        }
        if (store.countActiveAdmins(clock.instant()) > 0) {
            return Optional.empty();
        }
        Created created = create("bootstrap-admin", Role.ADMIN, null, null, null, null);
        return Optional.of(created.secret());
    }

    /**
     * Creates a new admin token for an operator who has lost every admin secret ({@code flywheel admin reset-token},
     * run on the server host with the server's settings). Other tokens are left as they are.
     *
     * @param name what the token is for
     * @param actor who asked, for the audit trail
     */
    public Created resetAdmin(String name, String actor) {
        Created created = create(name, Role.ADMIN, null, null, null, null);
        events.event("token.reset", "admin token '" + created.token().name() + "' created on the server host "
                + "(flywheel admin reset-token)").actor(actor).subject("token", created.token().id()).record();
        return created;
    }

    /**
     * Creates a token.
     *
     * @param name what it is for
     * @param role what it may do
     * @param deploymentId required for {@code predict} tokens, refused otherwise
     * @param runId required for {@code run} tokens, refused otherwise
     * @param ttl how long it works, or {@code null} for ever
     * @param creator who creates it, or {@code null} for the system
     */
    public Created create(String name, Role role, String deploymentId, String runId, Duration ttl, Principal creator) {
        if (name == null || name.isBlank() || name.length() > 200) {
            throw ApiException.badRequest("invalid_field", "name is required (1 to 200 characters)");
        }
        if (role == null) {
            throw ApiException.badRequest("invalid_field",
                    "role must be one of admin, engineer, reviewer, viewer, predict");
        }
        if ((role == Role.PREDICT) != (deploymentId != null)) {
            throw ApiException.badRequest("invalid_field", role == Role.PREDICT
                    ? "deployment_id is required for a predict token"
                    : "deployment_id is only for predict tokens");
        }
        if ((role == Role.RUN) != (runId != null)) {
            throw ApiException.badRequest("invalid_field", "run tokens are created by the server for training runs");
        }
        if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
            throw ApiException.badRequest("invalid_field", "expires_in must be positive");
        }
        Instant now = clock.instant();
        String secret = SECRET_PREFIX + Ids.secret(32);
        var token = new Token(Ids.next("tok"), name.trim(), role, deploymentId, runId,
                creator == null ? null : creator.token().id(), now, ttl == null ? null : now.plus(ttl), null);
        store.insert(token, hash(secret));
        if (role != Role.RUN) {
            events.event("token.created", "token '" + token.name() + "' created with role " + role.apiName())
                    .actor(creator == null ? "system" : creator.actor())
                    .deployment(deploymentId)
                    .subject("token", token.id())
                    .data(Map.of("role", role.apiName()))
                    .record();
        }
        return new Created(token, secret);
    }

    /** The active token with that secret, if any. */
    public Optional<Token> authenticate(String secret) {
        if (secret == null || !secret.startsWith(SECRET_PREFIX) && secret.length() < 16) {
            return Optional.empty();
        }
        String h = hash(secret);
        Instant now = clock.instant();
        Cached c = cache.get(h);
        Token token;
        if (c != null && c.checkedAt().plus(CACHE_TTL).isAfter(now)) {
            token = c.token();
        } else {
            long seen = revocations.get();
            token = store.findByHash(h).orElse(null);
            if (token == null) {
                cache.remove(h);
                return Optional.empty();
            }
            cache.put(h, new Cached(token, now));
            if (revocations.get() != seen) {
                // A revocation finished while this token was read; what was read may be the token before it, and
                // the revocation may already have cleared the cache, so this entry must not outlive this request.
                cache.remove(h);
            }
        }
        return token.activeAt(now) ? Optional.of(token) : Optional.empty();
    }

    public Page<Token> list(PageRequest page) {
        return page.page(store.list(page.after(), page.fetchSize()), Token::id);
    }

    public Token get(String id) {
        return store.find(id).orElseThrow(() -> ApiException.notFound("token", id));
    }

    /**
     * Revokes a token; it stops working at once on this server. The last live admin token cannot be revoked (expired
     * ones do not count), however many revocations run at once.
     */
    public Token revoke(String id, Principal by) {
        Token token = get(id);
        if (token.revokedAt() != null) {
            return token;
        }
        TokenStore.Revocation done = store.revokeUnlessLastAdmin(id, clock.instant());
        if (done == TokenStore.Revocation.LAST_ADMIN) {
            throw ApiException.conflict("last_admin", "cannot revoke the last admin token; create another admin first");
        }
        revocations.incrementAndGet();
        cache.values().removeIf(c -> c.token().id().equals(id));
        if (done == TokenStore.Revocation.REVOKED) {
            events.event("token.revoked", "token '" + token.name() + "' revoked")
                    .actor(by.actor()).subject("token", id).record();
        }
        return get(id);
    }

    static String hash(String secret) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
