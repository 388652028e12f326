package dev.flywheel.server.training;

import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The synthetic world of the features fixture: three Gaussian blobs (spread 0.25) around fixed centres, and a
 * shifted world whose first two classes moved 60% of the way towards the next class, where the fixture model
 * confuses them. Generated with a seed, so every run sees the same points.
 */
final class World {

    static final List<String> LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");
    static final double[][] CENTRES = {{5.0, 3.4, 1.5, 0.2}, {5.9, 2.6, 4.2, 1.3}, {6.8, 3.1, 6.0, 2.4}};
    static final double[][] SHIFTED = shifted();

    private final Random random;
    private final double[][] centres;

    World(long seed, boolean shifted) {
        this.random = new Random(seed);
        this.centres = shifted ? SHIFTED : CENTRES;
    }

    /**
     * One point of class {@code c}.
     *
     * @return the JSON predict payload and its true label
     */
    Point point(int c) {
        var sb = new StringBuilder("{\"features\": [");
        for (int f = 0; f < 4; f++) {
            sb.append(f == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f",
                    centres[c][f] + random.nextGaussian() * 0.25));
        }
        return new Point(sb.append("]}").toString(), LABELS.get(c));
    }

    /** A point of a class drawn uniformly. */
    Point next() {
        return point(random.nextInt(3));
    }

    record Point(String payload, String label) {}

    private static double[][] shifted() {
        double[][] s = new double[3][4];
        for (int c = 0; c < 3; c++) {
            for (int f = 0; f < 4; f++) {
                double towards = c < 2 ? CENTRES[c + 1][f] - CENTRES[c][f] : CENTRES[2][f] - CENTRES[1][f];
                s[c][f] = CENTRES[c][f] + 0.6 * towards;
            }
        }
        return s;
    }
}
