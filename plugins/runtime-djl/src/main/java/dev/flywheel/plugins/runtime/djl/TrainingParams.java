package dev.flywheel.plugins.runtime.djl;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The built-in trainer's hyper-parameters, read from the run's {@code FLYWHEEL_PARAMS} map.
 *
 * @param epochs passes over the train split
 * @param learningRate Adam's step size
 * @param batchSize items per optimiser step
 * @param seed seeds shuffling, the hold-out split and libtorch's generator
 * @param device {@code auto}, {@code cpu} or {@code gpu}
 * @param allowNewLabels skip items whose label the base model does not have, instead of failing
 */
record TrainingParams(int epochs, double learningRate, int batchSize, long seed, String device,
        boolean allowNewLabels) {

    static final String EPOCHS = "epochs";
    static final String LEARNING_RATE = "learning_rate";
    static final String BATCH_SIZE = "batch_size";
    static final String SEED = "seed";
    static final String DEVICE = "device";
    static final String ALLOW_NEW_LABELS = "allow_new_labels";

    static final List<String> NAMES = List.of(EPOCHS, LEARNING_RATE, BATCH_SIZE, SEED, DEVICE, ALLOW_NEW_LABELS);
    static final List<String> DEVICES = List.of("auto", "cpu", "gpu");

    static final TrainingParams DEFAULTS = new TrainingParams(20, 0.01, 32, 42, "auto", false);

    /**
     * Reads and checks the parameters; absent ones take their defaults. Numbers may be JSON numbers or numeric
     * strings (forms and environment variables tend to stringify them).
     *
     * @throws IllegalArgumentException naming the parameter and what it accepts
     */
    static TrainingParams parse(Map<String, ?> params) {
        Map<String, ?> p = params == null ? Map.of() : params;
        // A typo such as "learning_rte" would otherwise train silently with the default.
        TreeSet<String> unknown = new TreeSet<>(p.keySet());
        NAMES.forEach(unknown::remove);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown training parameter(s) " + unknown + "; the built-in trainer"
                    + " takes " + NAMES);
        }
        int epochs = (int) whole(p.get(EPOCHS), EPOCHS, DEFAULTS.epochs, 1, 10_000);
        double lr = number(p.get(LEARNING_RATE), LEARNING_RATE, DEFAULTS.learningRate);
        if (!(lr > 0 && lr <= 10)) {
            throw new IllegalArgumentException(LEARNING_RATE + " must be a number above 0 and at most 10, not " + lr);
        }
        int batch = (int) whole(p.get(BATCH_SIZE), BATCH_SIZE, DEFAULTS.batchSize, 1, 4096);
        long seed = whole(p.get(SEED), SEED, DEFAULTS.seed, Long.MIN_VALUE, Long.MAX_VALUE);
        Object d = p.get(DEVICE);
        String device = d == null ? DEFAULTS.device : String.valueOf(d).strip().toLowerCase(Locale.ROOT);
        if (!DEVICES.contains(device)) {
            throw new IllegalArgumentException(DEVICE + " must be one of " + DEVICES + ", not \"" + d + "\"");
        }
        return new TrainingParams(epochs, lr, batch, seed, device, bool(p.get(ALLOW_NEW_LABELS), ALLOW_NEW_LABELS));
    }

    /** The parameters as they are logged, in a stable order. */
    Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(EPOCHS, epochs);
        m.put(LEARNING_RATE, learningRate);
        m.put(BATCH_SIZE, batchSize);
        m.put(SEED, seed);
        m.put(DEVICE, device);
        m.put(ALLOW_NEW_LABELS, allowNewLabels);
        return m;
    }

    private static double number(Object v, String name, double fallback) {
        if (v == null) {
            return fallback;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        if (v instanceof String s) {
            try {
                return Double.parseDouble(s.strip());
            } catch (NumberFormatException e) {
                // falls through to the message below
            }
        }
        throw new IllegalArgumentException(name + " must be a number, not " + describe(v));
    }

    private static long whole(Object v, String name, long fallback, long min, long max) {
        if (v == null) {
            return fallback;
        }
        double d = number(v, name, fallback);
        if (d != Math.rint(d) || Double.isInfinite(d)) {
            throw new IllegalArgumentException(name + " must be a whole number, not " + describe(v));
        }
        if (d < min || d > max) {
            throw new IllegalArgumentException(name + " must be between " + min + " and " + max + ", not "
                    + describe(v));
        }
        // Longs beyond 2^53 (a large seed) lose precision through double; take them exactly when they are integral.
        return v instanceof Long || v instanceof Integer ? ((Number) v).longValue() : (long) d;
    }

    private static boolean bool(Object v, String name) {
        if (v == null) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(s);
        }
        throw new IllegalArgumentException(name + " must be true or false, not " + describe(v));
    }

    private static String describe(Object v) {
        return v instanceof String ? "\"" + v + "\"" : String.valueOf(v);
    }
}
