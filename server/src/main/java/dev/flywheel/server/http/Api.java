package dev.flywheel.server.http;

import dev.flywheel.server.access.Access;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.router.Endpoint;
import io.javalin.security.Roles;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Declares the API's routes. Each route class ({@code EventRoutes}, {@code TokenRoutes}, …) describes its routes
 * here, with who may call them and what they take and return; the description is both the access rule and the
 * OpenAPI entry.
 *
 * <pre>{@code
 * api.get("/api/events").access(Access.VIEWER).tag("events").summary("List events")
 *    .query("deployment_id", "string", "only this deployment's events")
 *    .ok("EventPage").handle(this::list);
 * }</pre>
 */
public final class Api {

    /** A group of routes of one resource. */
    public interface Routes {
        void register(Api api);
    }

    private final RoutesConfig routes;
    private final List<RouteSpec> specs = new ArrayList<>();

    public Api(RoutesConfig routes) {
        this.routes = routes;
    }

    public Builder get(String path) {
        return new Builder(HandlerType.GET, path);
    }

    public Builder post(String path) {
        return new Builder(HandlerType.POST, path);
    }

    public Builder put(String path) {
        return new Builder(HandlerType.PUT, path);
    }

    public Builder delete(String path) {
        return new Builder(HandlerType.DELETE, path);
    }

    /** Every route declared so far. */
    public List<RouteSpec> specs() {
        return Collections.unmodifiableList(specs);
    }

    /** Describes one route; {@link #handle} registers it. */
    public final class Builder {
        private final HandlerType method;
        private final String path;
        private Access access;
        private String tag = "default";
        private String summary = "";
        private String description = "";
        private final List<RouteSpec.Param> query = new ArrayList<>();
        private RouteSpec.Body body;
        private final Map<Integer, RouteSpec.Body> responses = new LinkedHashMap<>();
        private long maxBodyBytes;

        private Builder(HandlerType method, String path) {
            this.method = method;
            this.path = path;
        }

        public Builder access(Access value) {
            this.access = value;
            return this;
        }

        public Builder tag(String value) {
            this.tag = value;
            return this;
        }

        public Builder summary(String value) {
            this.summary = value;
            return this;
        }

        public Builder description(String value) {
            this.description = value;
            return this;
        }

        public Builder query(String name, String type, String text) {
            query.add(new RouteSpec.Param(name, type, text));
            return this;
        }

        /** Adds the {@code limit} and {@code cursor} parameters of a paged list. */
        public Builder paged() {
            query("limit", "integer", "page size, 1.." + PageRequest.MAX_LIMIT + " (default " + PageRequest.DEFAULT_LIMIT + ")");
            return query("cursor", "string", "the next_cursor of the previous page");
        }

        /** A JSON request body of that schema. */
        public Builder body(String schema) {
            this.body = new RouteSpec.Body("", "application/json", schema);
            return this;
        }

        /** A request body of another media type. */
        public Builder body(String contentType, String schema, String text) {
            this.body = new RouteSpec.Body(text, contentType, schema);
            return this;
        }

        /** A 200 JSON answer of that schema. */
        public Builder ok(String schema) {
            return response(200, "application/json", schema, "OK");
        }

        /** A 201 JSON answer of that schema. */
        public Builder created(String schema) {
            return response(201, "application/json", schema, "Created");
        }

        /** A 204 answer without body. */
        public Builder noContent() {
            return response(204, null, null, "No content");
        }

        public Builder response(int status, String contentType, String schema, String text) {
            responses.put(status, new RouteSpec.Body(text, contentType, schema));
            return this;
        }

        /** Accepts bodies up to that size on this route (uploads), instead of the server default. */
        public Builder maxBodyBytes(long bytes) {
            this.maxBodyBytes = bytes;
            return this;
        }

        /** Registers the route. */
        public void handle(Handler handler) {
            if (access == null) {
                throw new IllegalStateException(method + " " + path + " declares no access rule");
            }
            if (responses.isEmpty()) {
                throw new IllegalStateException(method + " " + path + " declares no response");
            }
            var spec = new RouteSpec(method, path, access, tag, summary, description, List.copyOf(query), body,
                    Map.copyOf(responses), maxBodyBytes);
            specs.add(spec);
            routes.addEndpoint(Endpoint.create(method, path)
                    .addMetadata(new Roles(Set.of(access)))
                    .addMetadata(spec)
                    .handler(handler));
        }
    }
}
