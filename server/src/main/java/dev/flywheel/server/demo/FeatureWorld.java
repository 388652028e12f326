package dev.flywheel.server.demo;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The features world: three Gaussian blobs in four dimensions (spread 0.25) around iris-like centres, and a drifted
 * world in which each class moved 60% of the way towards its neighbour, where a model trained on the original world
 * confuses the first two classes with the next ones. Seeded, so every run sees the same points; thread-safe, so several
 * traffic threads can draw from one world.
 */
public final class FeatureWorld implements World {

    /** The model's labels, in its output order. */
    public static final List<String> LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");
    /** The centres of the original world (those {@code fixtures/make_models.py} uses too). */
    static final double[][] CENTRES = {{5.0, 3.4, 1.5, 0.2}, {5.9, 2.6, 4.2, 1.3}, {6.8, 3.1, 6.0, 2.4}};
    static final double SPREAD = 0.25;
    /** The centres of the drifted world. */
    static final double[][] DRIFTED = drifted();
    private static final int HIDDEN = 16;

    private final Random random;

    /** A world drawing from this seed. */
    public FeatureWorld(long seed) {
        this.random = new Random(seed);
    }

    @Override
    public String kind() {
        return "features";
    }

    @Override
    public List<String> labels() {
        return LABELS;
    }

    @Override
    public synchronized Sample next(boolean drifted) {
        int c = random.nextInt(LABELS.size());
        double[][] centres = drifted ? DRIFTED : CENTRES;
        double[] x = new double[4];
        var sb = new StringBuilder("{\"features\": [");
        for (int f = 0; f < 4; f++) {
            // Rounded as written, so that the vector and the JSON payload are the same numbers.
            x[f] = Math.round((centres[c][f] + random.nextGaussian() * SPREAD) * 1e4) / 1e4;
            sb.append(f == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", x[f]));
        }
        byte[] payload = sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        return new Sample(payload, "application/json", x, LABELS.get(c), drifted);
    }

    @Override
    public String modelJson() {
        return "{\"format\": \"djl\", \"task\": \"classification\", \"labels\": [\"setosa-like\", \"versicolor-like\", "
                + "\"virginica-like\"], \"input\": {\"kind\": \"features\", \"size\": 4}, \"output\": \"logits\"}";
    }

    @Override
    public String untrainedArchitecture(long seed) {
        return "{\"type\": \"mlp\", \"input_size\": 4, \"hidden\": [" + HIDDEN + "], \"classes\": 3, \"activation\": "
                + "\"relu\", \"initialize\": {\"seed\": " + seed + "}}";
    }

    @Override
    public String network() {
        return "MLP 4-" + HIDDEN + "-3";
    }

    @Override
    public String description() {
        return "three Gaussian blobs in four dimensions";
    }

    @Override
    public String driftDescription() {
        return "each class moves 60% of the way towards its neighbour";
    }

    private static double[][] drifted() {
        double[][] s = new double[3][4];
        for (int c = 0; c < 3; c++) {
            for (int f = 0; f < 4; f++) {
                // The last class has no next neighbour; it moves on in the direction it came from.
                double towards = c < 2 ? CENTRES[c + 1][f] - CENTRES[c][f] : CENTRES[2][f] - CENTRES[1][f];
                s[c][f] = CENTRES[c][f] + 0.6 * towards;
            }
        }
        return s;
    }
}
