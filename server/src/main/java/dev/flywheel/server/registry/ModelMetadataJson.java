package dev.flywheel.server.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Json;
import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.ModelMetadata;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes {@code model.json}, the metadata of the "Model artifact" contract. Reading is strict: every
 * way the metadata can miss the contract is a 400 {@code invalid_metadata} naming the field, because a model whose
 * metadata is accepted must then be served correctly.
 */
public final class ModelMetadataJson {

    private static final String CODE = "invalid_metadata";
    private static final List<String> FIELDS = List.of("format", "task", "labels", "input", "output");
    /** The widest or tallest image input served. */
    public static final int MAX_IMAGE_SIDE = 8192;
    /**
     * The most values an image input may have (width x height x channels): 64 MiB of floats per input, 2048 x 2048
     * RGB or 4096 x 4096 grey. A model declaring more could not even be test-run at upload.
     */
    public static final long MAX_IMAGE_VALUES = 16L * 1024 * 1024;

    private ModelMetadataJson() {}

    /**
     * Parses metadata.
     *
     * @param json the {@code model.json} text
     * @param formats the formats a runtime can load; {@code format} must be one of them
     * @throws ApiException 400 naming the first field that does not fit the contract
     */
    public static ModelMetadata parse(String json, Set<String> formats) {
        ModelMetadata metadata = parse(json);
        if (!formats.contains(metadata.format())) {
            throw bad(formats.isEmpty()
                    ? "metadata.format '" + metadata.format() + "' cannot be loaded: no model runtime plugin is started"
                    : "metadata.format must be one of " + formats + ", not '" + metadata.format() + "'");
        }
        return metadata;
    }

    /** Parses metadata without checking that a runtime loads its format (for versions already registered). */
    public static ModelMetadata parse(String json) {
        if (json == null || json.isBlank()) {
            throw bad("the metadata part is missing: send model.json as the multipart field 'metadata'");
        }
        JsonNode root;
        try {
            root = Json.mapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw bad("metadata is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw bad("metadata must be a JSON object with " + String.join(", ", FIELDS));
        }
        unknownFields(root, "metadata", FIELDS);
        String format = text(root, "format", "metadata.format", "such as \"torchscript\"");
        String task = text(root, "task", "metadata.task", "\"classification\"");
        if (!"classification".equals(task)) {
            throw bad("metadata.task must be \"classification\" (the only task served today), not '" + task + "'");
        }
        List<String> labels = labels(root.get("labels"));
        InputSpec input = input(root.get("input"));
        String output = text(root, "output", "metadata.output", "\"logits\" or \"probabilities\"");
        ModelMetadata.OutputKind kind = switch (output) {
            case "logits" -> ModelMetadata.OutputKind.LOGITS;
            case "probabilities" -> ModelMetadata.OutputKind.PROBABILITIES;
            default -> throw bad("metadata.output must be \"logits\" or \"probabilities\", not '" + output + "'");
        };
        return new ModelMetadata(format, task, labels, input, kind);
    }

    /** The metadata as the contract's JSON object, with defaults filled in. */
    public static Map<String, Object> toMap(ModelMetadata m) {
        var input = new LinkedHashMap<String, Object>();
        if (m.input() instanceof InputSpec.Features f) {
            input.put("kind", "features");
            input.put("size", f.size());
        } else {
            InputSpec.Image i = (InputSpec.Image) m.input();
            input.put("kind", "image");
            input.put("width", i.width());
            input.put("height", i.height());
            input.put("channels", i.channels());
            input.put("mean", i.mean());
            input.put("std", i.std());
        }
        var out = new LinkedHashMap<String, Object>();
        out.put("format", m.format());
        out.put("task", m.task());
        out.put("labels", m.labels());
        out.put("input", input);
        out.put("output", m.output().name().toLowerCase(Locale.ROOT));
        return out;
    }

    /** The metadata as {@code model.json} text. */
    public static String write(ModelMetadata m) {
        return Json.write(toMap(m));
    }

    private static List<String> labels(JsonNode node) {
        String expected = "metadata.labels must be a non-empty list of unique label strings, one per output column";
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw bad(expected);
        }
        var labels = new ArrayList<String>();
        var seen = new HashSet<String>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode l = node.get(i);
            if (!l.isTextual() || l.asText().isBlank()) {
                throw bad("metadata.labels[" + i + "] must be a non-empty string");
            }
            if (l.asText().length() > 200) {
                throw bad("metadata.labels[" + i + "] is longer than 200 characters");
            }
            if (!seen.add(l.asText())) {
                throw bad("metadata.labels repeats '" + l.asText() + "'; each label must be unique");
            }
            labels.add(l.asText());
        }
        return labels;
    }

    private static InputSpec input(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw bad("metadata.input must be {\"kind\": \"features\", \"size\": N} or {\"kind\": \"image\", "
                    + "\"width\": W, \"height\": H, \"channels\": 3, \"mean\": [...], \"std\": [...]}");
        }
        String kind = text(node, "kind", "metadata.input.kind", "\"features\" or \"image\"");
        if (kind.equals("features")) {
            unknownFields(node, "metadata.input", List.of("kind", "size"));
            return new InputSpec.Features(positive(node, "size"));
        }
        if (kind.equals("image")) {
            unknownFields(node, "metadata.input", List.of("kind", "width", "height", "channels", "mean", "std"));
            int width = positive(node, "width");
            int height = positive(node, "height");
            int channels = positive(node, "channels");
            if (channels != 1 && channels != 3) {
                throw bad("metadata.input.channels must be 3 (RGB) or 1 (grey), not " + channels);
            }
            if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE
                    || (long) width * height * channels > MAX_IMAGE_VALUES) {
                throw bad("metadata.input declares a " + width + "x" + height + " image of " + channels + " channel(s); "
                        + "at most " + MAX_IMAGE_SIDE + " pixels a side and " + MAX_IMAGE_VALUES + " values "
                        + "(width x height x channels) are served, since every input becomes a tensor of that size");
            }
            List<Double> mean = numbers(node, "mean", channels);
            List<Double> std = numbers(node, "std", channels);
            if (std != null && std.contains(0.0)) {
                throw bad("metadata.input.std must not contain 0");
            }
            return new InputSpec.Image(width, height, channels, mean, std);
        }
        throw bad("metadata.input.kind must be \"features\" or \"image\", not '" + kind + "'");
    }

    private static List<Double> numbers(JsonNode parent, String field, int channels) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray() || node.size() != channels) {
            throw bad("metadata.input." + field + " must be a list of " + channels + " numbers, one per channel");
        }
        var out = new ArrayList<Double>();
        for (JsonNode n : node) {
            if (!n.isNumber() || !Double.isFinite(n.asDouble())) {
                throw bad("metadata.input." + field + " must be a list of " + channels + " numbers, one per channel");
            }
            out.add(n.asDouble());
        }
        return out;
    }

    private static int positive(JsonNode parent, String field) {
        JsonNode n = parent.get(field);
        if (n == null || !n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
            throw bad("metadata.input." + field + " must be a positive whole number");
        }
        return n.asInt();
    }

    private static String text(JsonNode parent, String field, String path, String example) {
        JsonNode n = parent.get(field);
        if (n == null || !n.isTextual() || n.asText().isBlank()) {
            throw bad(path + " is required: a string, " + example);
        }
        return n.asText();
    }

    private static void unknownFields(JsonNode node, String path, List<String> known) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                throw bad(path + " has an unknown field '" + name + "'; the contract's fields are "
                        + String.join(", ", known));
            }
        }
    }

    private static ApiException bad(String message) {
        return ApiException.badRequest(CODE, message);
    }
}
