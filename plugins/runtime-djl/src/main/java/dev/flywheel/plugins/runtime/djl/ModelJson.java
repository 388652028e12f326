package dev.flywheel.plugins.runtime.djl;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.ModelMetadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads and writes {@code model.json} (the "Model artifact" contract) for the trainer, which runs in a job process
 * without the server's parser. It writes only the contract's fields, in the server's order, because the server
 * refuses unknown fields when it registers the trained model.
 */
final class ModelJson {

    /** The metadata file of a model directory. */
    static final String FILE_NAME = "model.json";

    private ModelJson() {}

    /**
     * Reads a model directory's {@code model.json}.
     *
     * @throws IllegalArgumentException naming the field that does not fit the contract
     */
    static ModelMetadata read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("the base model has no " + FILE_NAME + " (looked for " + file + ")");
        }
        JsonElement root;
        try {
            root = JsonParser.parseString(Files.readString(file));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the base model's " + FILE_NAME + " is not valid JSON: " + e.getMessage(), e);
        }
        if (!root.isJsonObject()) {
            throw new IllegalArgumentException("the base model's " + FILE_NAME + " must be a JSON object");
        }
        JsonObject o = root.getAsJsonObject();
        try {
            List<String> labels = new ArrayList<>();
            JsonElement l = o.get("labels");
            if (l == null || !l.isJsonArray() || l.getAsJsonArray().isEmpty()) {
                throw new IllegalArgumentException("\"labels\" must be a non-empty list");
            }
            for (JsonElement e : l.getAsJsonArray()) {
                labels.add(string(e, "labels[]"));
            }
            JsonElement in = o.get("input");
            if (in == null || !in.isJsonObject()) {
                throw new IllegalArgumentException("\"input\" must be an object");
            }
            JsonObject input = in.getAsJsonObject();
            InputSpec spec = switch (string(input.get("kind"), "input.kind")) {
                case "features" -> new InputSpec.Features(integer(input.get("size"), "input.size"));
                case "image" -> new InputSpec.Image(integer(input.get("width"), "input.width"),
                        integer(input.get("height"), "input.height"), integer(input.get("channels"), "input.channels"),
                        doubles(input.get("mean"), "input.mean"), doubles(input.get("std"), "input.std"));
                default -> throw new IllegalArgumentException("\"input.kind\" must be \"features\" or \"image\"");
            };
            ModelMetadata.OutputKind output = switch (string(o.get("output"), "output")) {
                case "logits" -> ModelMetadata.OutputKind.LOGITS;
                case "probabilities" -> ModelMetadata.OutputKind.PROBABILITIES;
                default -> throw new IllegalArgumentException("\"output\" must be \"logits\" or \"probabilities\"");
            };
            return new ModelMetadata(string(o.get("format"), "format"), string(o.get("task"), "task"), labels, spec,
                    output);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the base model's " + FILE_NAME + " does not fit the model artifact"
                    + " contract: " + e.getMessage(), e);
        }
    }

    /** The metadata as {@code model.json} text, with exactly the contract's fields. */
    static String toJson(ModelMetadata m) {
        JsonObject o = new JsonObject();
        o.addProperty("format", m.format());
        o.addProperty("task", m.task());
        JsonArray labels = new JsonArray();
        m.labels().forEach(labels::add);
        o.add("labels", labels);
        JsonObject input = new JsonObject();
        if (m.input() instanceof InputSpec.Features f) {
            input.addProperty("kind", "features");
            input.addProperty("size", f.size());
        } else {
            InputSpec.Image i = (InputSpec.Image) m.input();
            input.addProperty("kind", "image");
            input.addProperty("width", i.width());
            input.addProperty("height", i.height());
            input.addProperty("channels", i.channels());
            JsonArray mean = new JsonArray();
            i.mean().forEach(mean::add);
            input.add("mean", mean);
            JsonArray std = new JsonArray();
            i.std().forEach(std::add);
            input.add("std", std);
        }
        o.add("input", input);
        o.addProperty("output", m.output().name().toLowerCase(Locale.ROOT));
        return o.toString();
    }

    private static String string(JsonElement e, String field) {
        if (e instanceof JsonPrimitive p && p.isString() && !p.getAsString().isBlank()) {
            return p.getAsString();
        }
        throw new IllegalArgumentException("\"" + field + "\" must be a non-empty string");
    }

    private static int integer(JsonElement e, String field) {
        if (e instanceof JsonPrimitive p && p.isNumber()) {
            double v = p.getAsDouble();
            if (v == Math.rint(v) && v >= 1 && v <= 1 << 24) {
                return (int) v;
            }
        }
        throw new IllegalArgumentException("\"" + field + "\" must be a positive whole number");
    }

    private static List<Double> doubles(JsonElement e, String field) {
        if (e == null || e.isJsonNull()) {
            // InputSpec.Image fills in the torchvision-neutral default.
            return null;
        }
        if (!e.isJsonArray()) {
            throw new IllegalArgumentException("\"" + field + "\" must be a list of numbers");
        }
        List<Double> out = new ArrayList<>();
        for (JsonElement v : e.getAsJsonArray()) {
            if (!(v instanceof JsonPrimitive p) || !p.isNumber()) {
                throw new IllegalArgumentException("\"" + field + "\" must be a list of numbers");
            }
            out.add(p.getAsDouble());
        }
        return out;
    }
}
