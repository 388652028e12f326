package dev.flywheel.server.access;

import dev.flywheel.server.config.Durations;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.http.PageRequest;
import io.javalin.http.Context;
import java.time.Duration;

/** {@code /api/tokens} and {@code /api/me}. */
public final class TokenRoutes implements Api.Routes {

    private final TokenService tokens;

    public TokenRoutes(TokenService tokens) {
        this.tokens = tokens;
    }

    /**
     * The body of {@code POST /api/tokens}.
     *
     * @param name what the token is for
     * @param role admin, engineer, reviewer, viewer or predict
     * @param deploymentId for predict tokens, their deployment
     * @param expiresIn how long it works ({@code 30d}, {@code PT12H}), or {@code null} for ever
     */
    public record CreateTokenRequest(String name, String role, String deploymentId, String expiresIn) {}

    /** The answer to {@code POST /api/tokens}: the token and its secret, shown only this once. */
    public record CreatedToken(Token token, String secret) {}

    @Override
    public void register(Api api) {
        api.post("/api/tokens").access(Access.ADMIN).tag("access")
                .summary("Create a token; its secret is in this answer only")
                .body("CreateTokenRequest").created("CreatedToken")
                .handle(this::create);
        api.get("/api/tokens").access(Access.ADMIN).tag("access")
                .summary("List tokens (never their secrets)").paged().ok("TokenPage")
                .handle(ctx -> ctx.json(tokens.list(PageRequest.from(ctx))));
        api.get("/api/tokens/{t}").access(Access.ADMIN).tag("access")
                .summary("Get a token").ok("Token")
                .handle(ctx -> ctx.json(tokens.get(ctx.pathParam("t"))));
        api.delete("/api/tokens/{t}").access(Access.ADMIN).tag("access")
                .summary("Revoke a token; it stops working at once").ok("Token")
                .handle(ctx -> ctx.json(tokens.revoke(ctx.pathParam("t"), AccessControl.principal(ctx))));
        api.get("/api/me").access(Access.VIEWER).tag("access")
                .summary("The calling token: its name and role (what the UI may show)").ok("Token")
                .handle(ctx -> ctx.json(AccessControl.principal(ctx).token()));
    }

    private void create(Context ctx) {
        var req = Bodies.json(ctx, CreateTokenRequest.class);
        Duration ttl = req.expiresIn() == null ? null : Durations.parse("expires_in", req.expiresIn());
        Role role = req.role() == null ? null : Role.parse(req.role());
        if (role == Role.RUN) {
            role = null;
        }
        var created = tokens.create(req.name(), role, req.deploymentId(), null, ttl, AccessControl.principal(ctx));
        ctx.status(201).json(new CreatedToken(created.token(), created.secret()));
    }
}
