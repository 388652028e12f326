package dev.flywheel.bench;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The inputs every scenario predicts on: the fixture's samples, each request slightly jittered so that (almost)
 * every input is different. Real traffic rarely repeats an input, and Flywheel stores each input as a
 * content-addressed blob: repeating six inputs would measure a deduplicated blob store instead of the real one.
 */
public final class FeatureInputs {

    /** {@code features-3class/samples.json}, one per class and a few near the boundaries. */
    private static final float[][] SAMPLES = {
        {5.0f, 3.4f, 1.5f, 0.2f}, {5.9f, 2.6f, 4.2f, 1.3f}, {6.8f, 3.1f, 6.0f, 2.4f},
        {5.18f, 3.24f, 2.04f, 0.42f}, {6.08f, 2.7f, 4.56f, 1.52f}, {6.44f, 3.16f, 5.1f, 1.96f},
    };

    private final SplittableRandom random;

    /** A generator for one load thread; different seeds give different sequences. */
    public FeatureInputs(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** The next input: a sample plus up to ±0.05 per feature, on a 0.0001 grid so that its JSON is short. */
    public float[] next(long seq) {
        float[] base = SAMPLES[(int) (seq % SAMPLES.length)];
        float[] f = new float[base.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = Math.round((base[i] + random.nextDouble(-0.05, 0.05)) * 10_000) / 10_000f;
        }
        return f;
    }

    /** The predict request body for {@code f}: {@code {"features":[...]}}. */
    public static String json(float[] f) {
        var sb = new StringBuilder(64).append("{\"features\":[");
        for (int i = 0; i < f.length; i++) {
            sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.4f", f[i]));
        }
        return sb.append("]}").toString();
    }
}
