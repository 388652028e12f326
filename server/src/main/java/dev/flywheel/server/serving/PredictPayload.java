package dev.flywheel.server.serving;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.http.Json;
import dev.flywheel.spi.runtime.ModelInput;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Iterator;
import java.util.Locale;

/**
 * A predict request's input, per the "Predict request" contract: what the model gets, and what is stored as the
 * prediction's input blob.
 *
 * <p>The stored input is exactly the payload: the JSON body for features, the image bytes for an image. For
 * {@code {"image_base64": …}} it is the decoded image with its own media type, so that every image input is kept
 * the same way, however it was sent, and a dataset export hands back a plain PNG or JPEG.
 *
 * @param input what the model predicts on
 * @param stored the bytes kept as the input blob
 * @param storedContentType their media type
 */
public record PredictPayload(ModelInput input, byte[] stored, String storedContentType) {

    public static final String JSON = "application/json";
    public static final String PNG = "image/png";
    public static final String JPEG = "image/jpeg";

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    /**
     * Reads a predict request's body.
     *
     * @param contentType the request's Content-Type
     * @param body its bytes
     * @throws ApiException 415 for another media type, 400 for a body that does not fit the contract
     */
    public static PredictPayload parse(String contentType, byte[] body) {
        String type = contentType == null ? "" : contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (type.equals("image/jpg")) {
            type = JPEG;
        }
        switch (type) {
            case JSON -> {
                if (body.length == 0) {
                    throw ApiException.badRequest("invalid_json", "a JSON body is required: {\"features\": [...]} or "
                            + "{\"image_base64\": \"...\"}");
                }
                JsonNode node;
                try (var parser = Json.mapper().createParser(body)) {
                    node = Json.mapper().readTree(parser);
                    Bodies.requireEnd(parser);
                } catch (JsonProcessingException e) {
                    throw ApiException.badRequest("invalid_json", "the body is not valid JSON: " + e.getOriginalMessage());
                } catch (java.io.IOException e) {
                    throw ApiException.badRequest("invalid_json", "the body could not be read: " + e.getMessage());
                }
                return fromJson(node, body);
            }
            case PNG, JPEG -> {
                checkImage(body, type, "the body");
                return new PredictPayload(new ModelInput.Image(body, type), body, type);
            }
            default -> throw new ApiException(415, "unsupported_media_type", "send features as application/json "
                    + "{\"features\": [...]}, or an image as image/png or image/jpeg (or JSON {\"image_base64\": "
                    + "\"...\"}), not '" + (type.isEmpty() ? "no Content-Type" : type) + "'");
        }
    }

    /**
     * Reads an input given as JSON.
     *
     * @param node {@code {"features": [...]}} or {@code {"image_base64": "..."}}
     * @param raw the bytes to store for features, or {@code null} to store the node as JSON
     */
    public static PredictPayload fromJson(JsonNode node, byte[] raw) {
        if (node == null || !node.isObject()) {
            throw ApiException.badRequest("invalid_input", "the input must be a JSON object: {\"features\": [...]} or "
                    + "{\"image_base64\": \"...\"}");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!name.equals("features") && !name.equals("image_base64")) {
                throw ApiException.badRequest("invalid_field", "unknown field '" + name
                        + "'; an input has either features or image_base64");
            }
        }
        boolean features = node.has("features");
        boolean image = node.has("image_base64");
        if (features == image) {
            throw ApiException.badRequest("invalid_input", "give either features or image_base64"
                    + (features ? ", not both" : ""));
        }
        if (features) {
            JsonNode list = node.get("features");
            if (!list.isArray() || list.isEmpty()) {
                throw ApiException.badRequest("invalid_input", "features must be a non-empty list of numbers");
            }
            float[] values = new float[list.size()];
            for (int i = 0; i < values.length; i++) {
                JsonNode v = list.get(i);
                if (!v.isNumber() || !Float.isFinite(v.floatValue())) {
                    throw ApiException.badRequest("invalid_input", "features[" + i + "] must be a finite number");
                }
                values[i] = v.floatValue();
            }
            byte[] stored = raw != null ? raw : Json.write(node).getBytes(StandardCharsets.UTF_8);
            return new PredictPayload(new ModelInput.Features(values), stored, JSON);
        }
        JsonNode text = node.get("image_base64");
        if (!text.isTextual() || text.asText().isEmpty()) {
            throw ApiException.badRequest("invalid_input", "image_base64 must be a base64 string of a PNG or JPEG image");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(text.asText());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_input", "image_base64 is not valid base64: " + e.getMessage());
        }
        String type = sniff(bytes);
        if (type == null) {
            throw ApiException.badRequest("invalid_input", "image_base64 holds neither a PNG nor a JPEG image");
        }
        return new PredictPayload(new ModelInput.Image(bytes, type), bytes, type);
    }

    private static void checkImage(byte[] body, String type, String what) {
        if (body.length == 0) {
            throw ApiException.badRequest("invalid_input", what + " is empty; send the image bytes");
        }
        String actual = sniff(body);
        if (!type.equals(actual)) {
            throw ApiException.badRequest("invalid_input", what + " is not a " + (type.equals(PNG) ? "PNG" : "JPEG")
                    + " image" + (actual == null ? "" : " (it is a " + (actual.equals(PNG) ? "PNG" : "JPEG")
                    + "; fix the Content-Type)"));
        }
    }

    /** The image type its first bytes say, or {@code null}. */
    private static String sniff(byte[] b) {
        if (b.length >= PNG_SIGNATURE.length) {
            boolean png = true;
            for (int i = 0; i < PNG_SIGNATURE.length; i++) {
                png &= b[i] == PNG_SIGNATURE[i];
            }
            if (png) {
                return PNG;
            }
        }
        if (b.length >= 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF) {
            return JPEG;
        }
        return null;
    }
}
