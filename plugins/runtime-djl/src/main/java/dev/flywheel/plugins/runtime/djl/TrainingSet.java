package dev.flywheel.plugins.runtime.djl;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.flywheel.spi.runtime.InvalidInputException;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeMap;

/**
 * A dataset export (the training job contract's {@code manifest.jsonl} and {@code assets/}) decoded into model
 * input rows with the serving path's {@link InputDecoder}, so that the model is trained on exactly the tensors it
 * will later be asked to predict on.
 *
 * @param train the train split
 * @param validation the validation split, or a held-out part of train when the export has none
 * @param heldOut whether {@code validation} was carved out of the train split
 */
record TrainingSet(Split train, Split validation, boolean heldOut) {

    /** The file listing the items. */
    static final String MANIFEST = "manifest.jsonl";
    /** The share of the train split held out when the export has no validation split. */
    static final double HOLD_OUT_FRACTION = 0.2;

    /**
     * Items of one split.
     *
     * @param inputs the payloads as the predict API receives them
     * @param rows the decoded model input rows, one per input
     * @param labels each item's label as an index into the model's labels
     */
    record Split(List<ModelInput> inputs, List<float[]> rows, int[] labels) {
        int size() {
            return labels.length;
        }
    }

    /** One manifest line, decoded. */
    private record Item(ModelInput input, float[] row, int label) {}

    /**
     * Reads and decodes the export.
     *
     * @param dir the dataset directory
     * @param metadata the base model's metadata: its input spec decodes the assets, its labels are the classes
     * @param allowNewLabels skip items with a label the base model lacks instead of failing
     * @param seed picks the held-out items when there is no validation split
     * @param log the run's console
     * @throws IllegalArgumentException naming the manifest line or item that cannot be used
     */
    static TrainingSet read(Path dir, ModelMetadata metadata, boolean allowNewLabels, long seed, PrintStream log)
            throws IOException {
        Path manifest = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            throw new IllegalArgumentException("the dataset has no " + MANIFEST + " (looked for " + manifest + ")");
        }
        InputDecoder decoder = new InputDecoder(metadata.input());
        Path root = dir.toAbsolutePath().normalize();
        List<Item> train = new ArrayList<>();
        List<Item> validation = new ArrayList<>();
        TreeMap<String, Integer> unknownLabels = new TreeMap<>();
        TreeMap<String, Integer> otherSplits = new TreeMap<>();
        try (BufferedReader reader = Files.newBufferedReader(manifest, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                String where = MANIFEST + " line " + number;
                JsonObject o = object(line, where);
                String id = optionalString(o, "id", where);
                where = id == null ? where : where + " (item " + id + ")";
                String label = requiredString(o, "label", where);
                String split = requiredString(o, "split", where);
                List<Item> target = switch (split) {
                    case "train" -> train;
                    case "validation" -> validation;
                    default -> null;
                };
                if (target == null) {
                    otherSplits.merge(split, 1, Integer::sum);
                    continue;
                }
                int index = metadata.labels().indexOf(label);
                if (index < 0) {
                    if (!allowNewLabels) {
                        throw new IllegalArgumentException(where + " has the label \"" + label + "\", which the base"
                                + " model does not have (its labels are " + metadata.labels() + "); relabel the item,"
                                + " or set allow_new_labels to skip such items");
                    }
                    unknownLabels.merge(label, 1, Integer::sum);
                    continue;
                }
                String asset = requiredString(o, "asset", where);
                ModelInput input = readAsset(root, asset, optionalString(o, "content_type", where), where);
                float[] row;
                try {
                    row = decoder.decode(input);
                } catch (InvalidInputException e) {
                    throw new IllegalArgumentException(where + ": the asset " + asset + " is not an input this model"
                            + " takes: " + e.getMessage(), e);
                }
                // The payload is kept as well: the metrics are measured through the serving path, which decodes it.
                target.add(new Item(input, row, index));
            }
        }
        if (!unknownLabels.isEmpty()) {
            log.println("skipped items whose label the base model does not have (allow_new_labels): " + unknownLabels
                    + "; the new model keeps the base labels " + metadata.labels());
        }
        if (!otherSplits.isEmpty()) {
            log.println("ignored items of splits other than train and validation: " + otherSplits);
        }
        if (train.isEmpty()) {
            throw new IllegalArgumentException("the dataset's train split is empty" + (unknownLabels.isEmpty() ? ""
                    : " once the items with labels the base model lacks are skipped") + "; nothing to train on");
        }
        boolean heldOut = false;
        if (validation.isEmpty()) {
            if (train.size() < 2) {
                throw new IllegalArgumentException("the dataset has no validation split and only " + train.size()
                        + " train item, too few to hold some out for validation");
            }
            // Shuffled with the run's seed so that the same export and seed always hold out the same items.
            List<Item> shuffled = new ArrayList<>(train);
            Collections.shuffle(shuffled, new Random(seed));
            int n = Math.max(1, (int) Math.round(shuffled.size() * HOLD_OUT_FRACTION));
            validation = new ArrayList<>(shuffled.subList(0, n));
            train = new ArrayList<>(shuffled.subList(n, shuffled.size()));
            heldOut = true;
            log.println("the dataset has no validation split: holding out " + n + " of " + shuffled.size()
                    + " train items (" + Math.round(HOLD_OUT_FRACTION * 100) + "%, chosen with seed " + seed
                    + ") to validate on");
        }
        return new TrainingSet(split(train), split(validation), heldOut);
    }

    private static Split split(List<Item> items) {
        List<ModelInput> inputs = new ArrayList<>(items.size());
        List<float[]> rows = new ArrayList<>(items.size());
        int[] labels = new int[items.size()];
        for (int i = 0; i < labels.length; i++) {
            inputs.add(items.get(i).input());
            rows.add(items.get(i).row());
            labels[i] = items.get(i).label();
        }
        return new Split(Collections.unmodifiableList(inputs), List.copyOf(rows), labels);
    }

    /** Reads one asset as the predict API would have received it. */
    private static ModelInput readAsset(Path root, String asset, String contentType, String where) {
        Path file = root.resolve(asset).normalize();
        if (!file.startsWith(root)) {
            throw new IllegalArgumentException(where + ": the asset path " + asset + " points outside the dataset");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException(where + ": cannot read the asset " + asset + " ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
        String type = contentType == null ? sniff(bytes) : contentType.split(";")[0].strip().toLowerCase(Locale.ROOT);
        return switch (type) {
            case "application/json" -> jsonPayload(bytes, asset, where);
            case "image/png", "image/jpeg" -> new ModelInput.Image(bytes, type);
            default -> throw new IllegalArgumentException(where + ": the asset " + asset + " has the content type \""
                    + type + "\"; a predict payload is application/json, image/png or image/jpeg");
        };
    }

    /** A JSON predict payload: {@code {"features": [...]}} or {@code {"image_base64": "..."}}. */
    private static ModelInput jsonPayload(byte[] bytes, String asset, String where) {
        String what = where + ": the asset " + asset;
        JsonObject o;
        try {
            JsonElement e = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException(what + " must be a JSON object");
            }
            o = e.getAsJsonObject();
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException(what + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonElement features = o.get("features");
        if (features != null) {
            if (!features.isJsonArray()) {
                throw new IllegalArgumentException(what + ": \"features\" must be a list of numbers");
            }
            JsonArray a = features.getAsJsonArray();
            float[] values = new float[a.size()];
            for (int i = 0; i < values.length; i++) {
                if (!(a.get(i) instanceof JsonPrimitive p) || !p.isNumber()) {
                    throw new IllegalArgumentException(what + ": feature " + i + " is not a number");
                }
                values[i] = p.getAsFloat();
            }
            return new ModelInput.Features(values);
        }
        JsonElement image = o.get("image_base64");
        if (image instanceof JsonPrimitive p && p.isString()) {
            byte[] decoded;
            try {
                decoded = Base64.getMimeDecoder().decode(p.getAsString());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(what + ": \"image_base64\" is not valid base64", e);
            }
            return new ModelInput.Image(decoded, sniff(decoded));
        }
        throw new IllegalArgumentException(what + " has neither \"features\" nor \"image_base64\"");
    }

    /** The content type of a payload whose manifest line does not say. */
    private static String sniff(byte[] b) {
        if (b.length >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return "image/png";
        }
        if (b.length >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8) {
            return "image/jpeg";
        }
        return "application/json";
    }

    private static JsonObject object(String line, String where) {
        try {
            JsonElement e = JsonParser.parseString(line);
            if (e.isJsonObject()) {
                return e.getAsJsonObject();
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(where + " is not valid JSON: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException(where + " must be a JSON object");
    }

    private static String requiredString(JsonObject o, String key, String where) {
        String s = optionalString(o, key, where);
        if (s == null) {
            throw new IllegalArgumentException(where + " has no \"" + key + "\"");
        }
        return s;
    }

    private static String optionalString(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (e instanceof JsonPrimitive p && (p.isString() || p.isNumber())) {
            // Ids may be numbers in an export; labels and splits never are, but a number reads the same as text.
            return p.getAsString();
        }
        throw new IllegalArgumentException(where + ": \"" + key + "\" must be a string");
    }
}
