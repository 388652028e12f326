package dev.flywheel.bench;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.Batchifier;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fixture's TorchScript classifier on DJL, the way a careful user would load it by hand: a {@link Criteria}
 * with a small {@link Translator}, one {@link Predictor} per thread (predictors are not thread-safe), softmax over
 * the logits and the argmax label. No batching: every call is one forward pass over one row.
 *
 * <p>Used by the in-process ceiling (a) and the bare Javalin server (b), each in its own JVM: libtorch can be
 * loaded only once per process.
 */
public final class DjlClassifier implements AutoCloseable {

    /**
     * One prediction, as the bare server answers it.
     *
     * @param label the most probable label
     * @param confidence its probability
     * @param scores every label's probability, in the model's label order
     */
    public record Classification(String label, double confidence, Map<String, Double> scores) {}

    private final ZooModel<float[], Classification> model;
    private final int inputSize;

    private DjlClassifier(ZooModel<float[], Classification> model, int inputSize) {
        this.model = model;
        this.inputSize = inputSize;
    }

    /**
     * Loads {@code model.pt} of a model directory, reading its labels and input size from {@code model.json}.
     *
     * @param dir e.g. {@code fixtures/models/features-3class}
     */
    public static DjlClassifier load(Path dir) throws IOException, ModelNotFoundException, MalformedModelException {
        JsonNode meta = new ObjectMapper().readTree(dir.resolve("model.json").toFile());
        List<String> labels = new ArrayList<>();
        meta.path("labels").forEach(l -> labels.add(l.asText()));
        int size = meta.path("input").path("size").asInt();
        if (!"features".equals(meta.path("input").path("kind").asText()) || size < 1 || labels.isEmpty()
                || !"logits".equals(meta.path("output").asText())) {
            throw new IllegalArgumentException("the benchmark serves a features classifier returning logits; "
                    + dir.resolve("model.json") + " declares another");
        }
        Criteria<float[], Classification> criteria = Criteria.builder()
                .setTypes(float[].class, Classification.class)
                .optModelPath(dir.resolve("model.pt"))
                .optEngine("PyTorch")
                .optTranslator(new FeaturesTranslator(labels))
                .build();
        return new DjlClassifier(criteria.loadModel(), size);
    }

    /** A new predictor: give each thread its own. */
    public Predictor<float[], Classification> newPredictor() {
        return model.newPredictor();
    }

    /** How many features the model takes. */
    public int inputSize() {
        return inputSize;
    }

    @Override
    public void close() {
        model.close();
    }

    /** float[] features to a [1, N] tensor; logits to a {@link Classification}. */
    private static final class FeaturesTranslator implements Translator<float[], Classification> {

        private final List<String> labels;

        FeaturesTranslator(List<String> labels) {
            this.labels = List.copyOf(labels);
        }

        @Override
        public NDList processInput(TranslatorContext ctx, float[] input) {
            // The row is shaped as a batch of one here, so no Batchifier (and its stack/split copies) is needed.
            return new NDList(ctx.getNDManager().create(input, new Shape(1, input.length)));
        }

        @Override
        public Classification processOutput(TranslatorContext ctx, NDList list) {
            float[] logits = list.get(0).toFloatArray();
            // Softmax in Java, shifted by the maximum so that large logits do not overflow: a native op for three
            // numbers would cost more than the arithmetic.
            double max = Double.NEGATIVE_INFINITY;
            for (float v : logits) {
                max = Math.max(max, v);
            }
            double[] p = new double[logits.length];
            double sum = 0;
            for (int i = 0; i < p.length; i++) {
                p[i] = Math.exp(logits[i] - max);
                sum += p[i];
            }
            int best = 0;
            Map<String, Double> scores = new LinkedHashMap<>();
            for (int i = 0; i < p.length; i++) {
                p[i] /= sum;
                scores.put(labels.get(i), p[i]);
                if (p[i] > p[best]) {
                    best = i;
                }
            }
            return new Classification(labels.get(best), p[best], scores);
        }

        @Override
        public Batchifier getBatchifier() {
            return null;
        }
    }
}
