package dev.flywheel.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flywheel.server.access.Access;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders {@code /openapi.json} (OpenAPI 3.1) from the declared {@link RouteSpec}s and the schemas in the
 * {@code openapi/components.json} resource. Generated from the same declarations that register the routes, so
 * a route cannot exist without its entry.
 */
public final class OpenApiDocument {

    private static final Pattern PATH_PARAM = Pattern.compile("\\{([^}]+)}");

    private OpenApiDocument() {}

    public static ObjectNode render(List<RouteSpec> specs, String version) {
        var m = Json.mapper();
        ObjectNode doc = m.createObjectNode();
        doc.put("openapi", "3.1.0");
        ObjectNode info = doc.putObject("info");
        info.put("title", "Flywheel API");
        info.put("version", version);
        info.put("description", "Continuous training and deployment: capture predictions, review them, retrain, "
                + "shadow, promote. Every /api route needs `Authorization: Bearer <token>`. Errors are "
                + "`{\"error\": code, \"message\": text}` with a 4xx status.");
        ObjectNode paths = doc.putObject("paths");
        specs.stream().sorted(Comparator.comparing(RouteSpec::path)).forEach(spec -> {
            ObjectNode path = paths.has(spec.path()) ? (ObjectNode) paths.get(spec.path()) : paths.putObject(spec.path());
            ObjectNode op = path.putObject(spec.method().name().toLowerCase(Locale.ROOT));
            op.putArray("tags").add(spec.tag());
            op.put("summary", spec.summary());
            if (!spec.description().isEmpty()) {
                op.put("description", spec.description());
            }
            op.put("operationId", operationId(spec));
            op.put("x-flywheel-access", spec.access().name().toLowerCase(Locale.ROOT));
            if (spec.access() == Access.PUBLIC) {
                op.putArray("security");
            }
            ArrayNode params = op.putArray("parameters");
            Matcher matcher = PATH_PARAM.matcher(spec.path());
            while (matcher.find()) {
                ObjectNode p = params.addObject();
                p.put("name", matcher.group(1));
                p.put("in", "path");
                p.put("required", true);
                p.putObject("schema").put("type", "string");
            }
            for (RouteSpec.Param q : spec.queryParams()) {
                ObjectNode p = params.addObject();
                p.put("name", q.name());
                p.put("in", "query");
                p.put("required", false);
                p.put("description", q.description());
                p.putObject("schema").put("type", q.type());
            }
            if (spec.requestBody() != null) {
                ObjectNode body = op.putObject("requestBody");
                body.put("required", true);
                if (!spec.requestBody().description().isEmpty()) {
                    body.put("description", spec.requestBody().description());
                }
                content(body, spec.requestBody());
            }
            ObjectNode responses = op.putObject("responses");
            spec.responses().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e -> {
                ObjectNode r = responses.putObject(Integer.toString(e.getKey()));
                r.put("description", e.getValue().description());
                if (e.getValue().contentType() != null) {
                    content(r, e.getValue());
                }
            });
            error(responses, 400, "Bad request: the message says what is wrong");
            if (spec.access() != Access.PUBLIC) {
                error(responses, 401, "Missing or invalid token");
                error(responses, 403, "The token's role may not do this");
            }
            if (spec.path().contains("{")) {
                error(responses, 404, "No such resource");
            }
            if (spec.requestBody() != null) {
                error(responses, 413, "Body larger than the limit");
                error(responses, 415, "A media type or charset this route does not take (JSON is UTF-8)");
            }
            if (spec.access() != Access.PUBLIC) {
                error(responses, 503, "The database cannot be reached, or the server is stopping or overloaded; "
                        + "nothing was changed. Retry after the Retry-After header's seconds");
            }
        });
        doc.set("components", components());
        ObjectNode bearer = ((ObjectNode) doc.get("components")).putObject("securitySchemes").putObject("bearer");
        bearer.put("type", "http");
        bearer.put("scheme", "bearer");
        doc.putArray("security").addObject().putArray("bearer");
        return doc;
    }

    private static void content(ObjectNode parent, RouteSpec.Body body) {
        ObjectNode media = parent.putObject("content").putObject(body.contentType());
        if (body.schema() != null) {
            media.putObject("schema").put("$ref", "#/components/schemas/" + body.schema());
        }
    }

    private static void error(ObjectNode responses, int status, String text) {
        String key = Integer.toString(status);
        if (responses.has(key)) {
            return;
        }
        ObjectNode r = responses.putObject(key);
        r.put("description", text);
        r.putObject("content").putObject("application/json").putObject("schema").put("$ref", "#/components/schemas/Error");
    }

    private static String operationId(RouteSpec spec) {
        String[] words = spec.path().replaceAll("[{}]", "").split("[/-]");
        var sb = new StringBuilder(spec.method().name().toLowerCase(Locale.ROOT));
        for (String w : words) {
            if (!w.isEmpty() && !w.equals("api")) {
                sb.append(Character.toUpperCase(w.charAt(0))).append(w.substring(1));
            }
        }
        return sb.toString();
    }

    /** The schema files, one per capability, merged into {@code components.schemas}. */
    private static final List<String> SCHEMA_FILES = List.of("components.json", "datasets.json", "feedback.json",
            "training.json", "promotion.json");

    private static ObjectNode components() {
        ObjectNode components = Json.mapper().createObjectNode();
        ObjectNode schemas = components.putObject("schemas");
        for (String file : SCHEMA_FILES) {
            try (InputStream in = OpenApiDocument.class.getResourceAsStream("/openapi/" + file)) {
                if (in == null) {
                    throw new IllegalStateException("openapi/" + file + " is missing from the server jar");
                }
                Json.mapper().readTree(in).path("schemas").fields().forEachRemaining(e -> {
                    if (schemas.has(e.getKey())) {
                        throw new IllegalStateException("schema " + e.getKey() + " is defined twice (" + file + ")");
                    }
                    schemas.set(e.getKey(), e.getValue());
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return components;
    }
}
