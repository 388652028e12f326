package dev.flywheel.server.access;

import dev.flywheel.server.http.ApiException;
import io.javalin.http.Context;
import io.javalin.security.RouteRole;
import java.util.Set;

/**
 * Checks every matched request against its route's {@link Access}: 401 without a valid bearer token, 403 when
 * the token's role may not call the route. Runs before the route's handler.
 */
public final class AccessControl {

    private final TokenService tokens;

    public AccessControl(TokenService tokens) {
        this.tokens = tokens;
    }

    public void check(Context ctx) {
        Set<RouteRole> roles = ctx.routeRoles();
        Access access = roles.isEmpty() ? null : (Access) roles.iterator().next();
        if (access == null) {
            // Routes without a declared rule are only the UI's static assets; API routes always declare one.
            return;
        }
        if (access == Access.PUBLIC) {
            return;
        }
        String header = ctx.header("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw ApiException.unauthorized("send 'Authorization: Bearer <token>'; tokens come from POST /api/tokens");
        }
        Token token = tokens.authenticate(header.substring(7).trim())
                .orElseThrow(() -> ApiException.unauthorized("the token is unknown, expired or revoked"));
        var principal = new Principal(token);
        if (!allowed(access, token, ctx)) {
            throw ApiException.forbidden("a " + token.role().apiName() + " token may not " + ctx.method().name()
                    + " " + ctx.path());
        }
        ctx.attribute(Principal.ATTRIBUTE, principal);
    }

    private static boolean allowed(Access access, Token token, Context ctx) {
        if (token.role().atLeast(access.minimum())) {
            return true;
        }
        return switch (access) {
            case PREDICT -> token.role() == Role.PREDICT && token.deploymentId() != null
                    && token.deploymentId().equals(pathParam(ctx, "d"));
            case RUN -> token.role() == Role.RUN && token.runId() != null
                    && token.runId().equals(pathParam(ctx, "r"));
            default -> false;
        };
    }

    private static String pathParam(Context ctx, String name) {
        return ctx.pathParamMap().get(name);
    }

    /** The caller of a request that passed the check. */
    public static Principal principal(Context ctx) {
        Principal p = ctx.attribute(Principal.ATTRIBUTE);
        if (p == null) {
            throw new IllegalStateException("no principal: route " + ctx.path() + " is public");
        }
        return p;
    }
}
