package dev.flywheel.plugins.runtime.djl;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.initializer.Initializer;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.flywheel.spi.runtime.InvalidModelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The {@code architecture.json} of a DJL-native model: a multi-layer perceptron whose weights are in
 * {@code model-NNNN.params} beside it. The block built here is the one the trainer trains and saves, so the
 * parameter file and the block always agree on their layers.
 *
 * <pre>{@code
 * {"type": "mlp", "input_size": 4, "hidden": [16, 16], "classes": 3, "activation": "relu"}
 * }</pre>
 *
 * <p>An untrained model has no parameter file and says so explicitly with {@code "initialize": {"seed": 7}}: its
 * weights are then drawn fresh, deterministically for the seed (see {@link #initialize(Model)}). Without that field a
 * model directory without {@code model-NNNN.params} is refused.
 *
 * @param inputSize the number of inputs; an image input is flattened to {@code channels * height * width}
 * @param hidden the width of each hidden layer, in order; may be empty (a linear classifier)
 * @param classes the number of output columns (logits)
 * @param activation the non-linearity after each hidden layer
 * @param initializeSeed the seed of {@code "initialize"}: the model has no parameters yet and starts from weights drawn
 *     with this seed; {@code null} when the weights come from {@code model-NNNN.params}
 */
record MlpArchitecture(int inputSize, List<Integer> hidden, int classes, String activation, Long initializeSeed) {

    /** The file name of the spec inside the model directory. */
    static final String FILE_NAME = "architecture.json";

    private static final Map<String, Supplier<Block>> ACTIVATIONS = Map.of(
            "relu", Activation::reluBlock,
            "tanh", Activation::tanhBlock,
            "sigmoid", Activation::sigmoidBlock,
            "gelu", Activation::geluBlock);

    /** An architecture whose weights are in a parameter file. */
    MlpArchitecture(int inputSize, List<Integer> hidden, int classes, String activation) {
        this(inputSize, hidden, classes, activation, null);
    }

    MlpArchitecture {
        hidden = List.copyOf(hidden);
        if (!ACTIVATIONS.containsKey(activation)) {
            throw new IllegalArgumentException("activation must be one of " + ACTIVATIONS.keySet().stream().sorted().toList()
                    + ", not \"" + activation + "\"");
        }
    }

    /**
     * Builds the (uninitialised) block: flatten, then per hidden layer a linear layer and the activation, then a
     * linear layer to {@code classes} logits.
     */
    SequentialBlock newBlock() {
        SequentialBlock block = new SequentialBlock();
        // Lets an image model take [batch, C, H, W]; a no-op for feature vectors.
        block.add(Blocks.batchFlattenBlock(inputSize));
        for (int width : hidden) {
            block.add(Linear.builder().setUnits(width).build());
            block.add(ACTIVATIONS.get(activation).get());
        }
        block.add(Linear.builder().setUnits(classes).build());
        return block;
    }

    /** Whether the spec asks for freshly initialised weights ({@code "initialize"}) instead of a parameter file. */
    boolean initializes() {
        return initializeSeed != null;
    }

    /** The same network, its weights in a parameter file: what a trained version's spec says. */
    MlpArchitecture trained() {
        return new MlpArchitecture(inputSize, hidden, classes, activation, null);
    }

    /**
     * Gives the model's block (built by {@link #newBlock()}) fresh weights from {@code "initialize"}'s seed: every
     * {@code Linear} weight of shape {@code [out, in]} uniform in {@code +-sqrt(6 / (in + out))} (Glorot/Xavier
     * uniform), every bias zero. The numbers are drawn by {@code java.util.Random(seed)}, layer by layer in order, not
     * by libtorch's process-wide generator: the same seed gives the same weights on any device, whatever other models
     * the process initialises at the same time.
     *
     * @throws IllegalStateException when the spec has no {@code "initialize"}
     */
    void initialize(Model model) {
        if (initializeSeed == null) {
            throw new IllegalStateException(FILE_NAME + " has no \"initialize\"; the weights come from the params file");
        }
        Random random = new Random(initializeSeed);
        Block block = model.getBlock();
        block.setInitializer((NDManager manager, Shape shape, DataType dataType) -> {
            long fanOut = shape.get(0);
            long fanIn = shape.dimension() > 1 ? shape.size() / fanOut : 1;
            double bound = Math.sqrt(6.0 / (fanIn + fanOut));
            float[] values = new float[Math.toIntExact(shape.size())];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
            }
            NDArray array = manager.create(values, shape);
            return dataType == DataType.FLOAT32 ? array : array.toType(dataType, false);
        }, Parameter.Type.WEIGHT);
        block.setInitializer(Initializer.ZEROS, Parameter.Type.BIAS);
        // SequentialBlock initialises its children in order, so the draws always go to the same weights.
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, inputSize));
    }

    /** The spec as JSON, as the trainer writes it. */
    String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("type", "mlp");
        o.addProperty("input_size", inputSize);
        JsonArray h = new JsonArray();
        hidden.forEach(h::add);
        o.add("hidden", h);
        o.addProperty("classes", classes);
        o.addProperty("activation", activation);
        if (initializeSeed != null) {
            JsonObject init = new JsonObject();
            init.addProperty("seed", initializeSeed);
            o.add("initialize", init);
        }
        return o.toString();
    }

    /**
     * Reads and checks {@code architecture.json}.
     *
     * @throws InvalidModelException naming what is missing or wrong
     */
    static MlpArchitecture read(Path file) throws InvalidModelException {
        JsonObject o;
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file));
            if (!root.isJsonObject()) {
                throw new InvalidModelException(FILE_NAME + " must be a JSON object");
            }
            o = root.getAsJsonObject();
        } catch (IOException e) {
            throw new InvalidModelException("cannot read " + FILE_NAME + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new InvalidModelException(FILE_NAME + " is not valid JSON: " + e.getMessage(), e);
        }
        String type = string(o, "type", null);
        if (!"mlp".equals(type)) {
            throw new InvalidModelException(FILE_NAME + ": \"type\" must be \"mlp\" (the only architecture supported),"
                    + " not " + (type == null ? "missing" : "\"" + type + "\""));
        }
        int inputSize = positive(o.get("input_size"), "input_size");
        int classes = positive(o.get("classes"), "classes");
        List<Integer> hidden = new ArrayList<>();
        JsonElement h = o.get("hidden");
        if (h != null && !h.isJsonNull()) {
            if (!h.isJsonArray()) {
                throw new InvalidModelException(FILE_NAME + ": \"hidden\" must be a list of layer widths");
            }
            for (JsonElement e : h.getAsJsonArray()) {
                hidden.add(positive(e, "hidden"));
            }
        }
        Long seed = initializeSeed(o.get("initialize"));
        try {
            return new MlpArchitecture(inputSize, hidden, classes, string(o, "activation", "relu"), seed);
        } catch (IllegalArgumentException e) {
            throw new InvalidModelException(FILE_NAME + ": " + e.getMessage());
        }
    }

    /** {@code "initialize": {"seed": N}}, or {@code null} when absent. */
    private static Long initializeSeed(JsonElement e) throws InvalidModelException {
        if (e == null || e.isJsonNull()) {
            return null;
        }
        String usage = FILE_NAME + ": \"initialize\" must be {\"seed\": <a whole number>}";
        if (!e.isJsonObject()) {
            throw new InvalidModelException(usage + ", not " + e);
        }
        JsonObject o = e.getAsJsonObject();
        if (!o.keySet().equals(Set.of("seed"))) {
            throw new InvalidModelException(usage + "; got the fields " + o.keySet());
        }
        if (o.get("seed") instanceof JsonPrimitive p && p.isNumber()) {
            try {
                return p.getAsBigDecimal().longValueExact();
            } catch (ArithmeticException ignored) {
                // Falls through to the error below.
            }
        }
        throw new InvalidModelException(usage + ", not " + o.get("seed"));
    }

    private static String string(JsonObject o, String key, String fallback) throws InvalidModelException {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!(e instanceof JsonPrimitive p) || !p.isString()) {
            throw new InvalidModelException(FILE_NAME + ": \"" + key + "\" must be a string");
        }
        return p.getAsString();
    }

    private static int positive(JsonElement e, String key) throws InvalidModelException {
        if (e instanceof JsonPrimitive p && p.isNumber()) {
            double v = p.getAsDouble();
            if (v == Math.rint(v) && v >= 1 && v <= 1 << 24) {
                return (int) v;
            }
        }
        throw new InvalidModelException(FILE_NAME + ": \"" + key + "\" must be a positive whole number"
                + (e == null ? " and is missing" : ", not " + e));
    }
}
