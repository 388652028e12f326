package dev.flywheel.server.demo;

import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The demo's synthetic world: three Gaussian blobs in four dimensions (spread 0.25) around the centres that
 * {@code fixtures/make_models.py} trained the {@code features-3class} model on, and a drifted world in which each class
 * moved 60% of the way towards its neighbour, where that model confuses the first two classes with the next ones.
 * Seeded, so every run sees the same points; thread-safe, so several traffic threads can draw from one world.
 */
public final class FeatureWorld {

    /** The model's labels, in its output order. */
    public static final List<String> LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");
    /** The centres of the original world: those of {@code fixtures/make_models.py}. */
    static final double[][] CENTRES = {{5.0, 3.4, 1.5, 0.2}, {5.9, 2.6, 4.2, 1.3}, {6.8, 3.1, 6.0, 2.4}};
    static final double SPREAD = 0.25;
    /** The centres of the drifted world. */
    static final double[][] DRIFTED = drifted();

    private final Random random;

    /** A world drawing from this seed. */
    public FeatureWorld(long seed) {
        this.random = new Random(seed);
    }

    /**
     * One labelled point, of a class drawn uniformly.
     *
     * @param drifted from the drifted world rather than the original one
     */
    public synchronized Point next(boolean drifted) {
        int c = random.nextInt(LABELS.size());
        double[][] centres = drifted ? DRIFTED : CENTRES;
        var sb = new StringBuilder("{\"features\": [");
        for (int f = 0; f < 4; f++) {
            sb.append(f == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f",
                    centres[c][f] + random.nextGaussian() * SPREAD));
        }
        return new Point(sb.append("]}").toString(), LABELS.get(c), drifted);
    }

    /**
     * A labelled input.
     *
     * @param payload the JSON predict request
     * @param label the true label
     * @param drifted whether it comes from the drifted world
     */
    public record Point(String payload, String label, boolean drifted) {}

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
