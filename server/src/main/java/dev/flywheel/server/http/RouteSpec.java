package dev.flywheel.server.http;

import dev.flywheel.server.access.Access;
import io.javalin.http.HandlerType;
import io.javalin.router.EndpointMetadata;
import java.util.List;
import java.util.Map;

/**
 * Everything the API documents about a route: it is attached to the Javalin endpoint, checked by access control,
 * and rendered into {@code /openapi.json}, so the document cannot miss a route that exists.
 *
 * @param method the HTTP method
 * @param path the Javalin path, with {@code {param}} placeholders
 * @param access who may call it
 * @param tag the resource group it belongs to
 * @param summary one line saying what it does
 * @param description more detail, or empty
 * @param queryParams documented query parameters
 * @param requestBody the body it takes, or {@code null}
 * @param responses status code to response
 * @param maxBodyBytes the largest body accepted, or 0 for the server default
 */
public record RouteSpec(
        HandlerType method,
        String path,
        Access access,
        String tag,
        String summary,
        String description,
        List<Param> queryParams,
        Body requestBody,
        Map<Integer, Body> responses,
        long maxBodyBytes) implements EndpointMetadata {

    /**
     * A query parameter.
     *
     * @param name its name
     * @param type an OpenAPI scalar type: string, integer, number, boolean
     * @param description what it does
     */
    public record Param(String name, String type, String description) {}

    /**
     * A request or response body.
     *
     * @param description what it is
     * @param contentType its media type
     * @param schema the name of a schema in the OpenAPI components, or {@code null} for none
     */
    public record Body(String description, String contentType, String schema) {}
}
