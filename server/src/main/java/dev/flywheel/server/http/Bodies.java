package dev.flywheel.server.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.javalin.http.Context;
import java.io.IOException;
import java.util.stream.Collectors;

/**
 * Reads request bodies: exactly one JSON object each, turning every way they can be wrong into a 400 that names the
 * problem.
 */
public final class Bodies {

    private Bodies() {}

    /** Parses the JSON body into that type. */
    public static <T> T json(Context ctx, Class<T> type) {
        byte[] body = ctx.bodyAsBytes();
        if (body.length == 0) {
            throw ApiException.badRequest("invalid_json", "a JSON body is required");
        }
        try (JsonParser parser = Json.mapper().createParser(body)) {
            // Every body is an object. Jackson would otherwise build a one-field record from a bare scalar, so that
            // the body `true` passed as {"active": true}.
            JsonToken first = parser.nextToken();
            if (first != JsonToken.START_OBJECT) {
                throw ApiException.badRequest("invalid_json", "the body must be a JSON object {...}, not "
                        + (first == null ? "nothing" : describe(first)));
            }
            T value = Json.mapper().readValue(parser, type);
            if (value == null) {
                throw ApiException.badRequest("invalid_json", "a JSON object is required, not null");
            }
            requireEnd(parser);
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw ApiException.badRequest("invalid_field", "unknown field '" + e.getPropertyName() + "'; known fields: "
                    + e.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.joining(", ")));
        } catch (MismatchedInputException e) {
            throw ApiException.badRequest("invalid_field", fieldPath(e) + describe(e));
        } catch (JsonMappingException e) {
            throw ApiException.badRequest("invalid_field", fieldPath(e) + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("invalid_json", "the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest("invalid_json", "the body could not be read: " + e.getMessage());
        }
    }

    /**
     * Refuses anything after the one JSON value of a body ({@code {...} trailing}, two documents): a parser stops at
     * the end of the first value, and such a body would otherwise be accepted, or stored, as if it were valid.
     */
    public static void requireEnd(JsonParser parser) throws IOException {
        if (parser.nextToken() != null) {
            throw ApiException.badRequest("invalid_json", "the body holds more than one JSON value; send exactly one");
        }
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case START_ARRAY -> "a list";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "true or false";
            case VALUE_NULL -> "null";
            default -> "'" + token.asString() + "'";
        };
    }

    private static String fieldPath(JsonMappingException e) {
        String path = e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining("."));
        return path.isEmpty() ? "" : path + ": ";
    }

    private static String describe(MismatchedInputException e) {
        String target = e.getTargetType() == null ? "value" : simpleType(e.getTargetType());
        return "expected " + target;
    }

    private static String simpleType(Class<?> t) {
        if (t == String.class) {
            return "a string";
        }
        if (t == Integer.class || t == int.class || t == Long.class || t == long.class) {
            return "a whole number";
        }
        if (t == Double.class || t == double.class || t == Float.class || t == float.class) {
            return "a number";
        }
        if (t == Boolean.class || t == boolean.class) {
            return "true or false";
        }
        if (java.util.List.class.isAssignableFrom(t) || t.isArray()) {
            return "a list";
        }
        if (java.util.Map.class.isAssignableFrom(t)) {
            return "an object";
        }
        return "an object";
    }
}
