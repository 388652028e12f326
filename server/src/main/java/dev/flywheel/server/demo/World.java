package dev.flywheel.server.demo;

import java.util.List;

/**
 * A synthetic world the demo's model lives in: labelled inputs from the original world, and from a drifted one where a
 * model trained on the original world does clearly worse. Generated in Java, seeded, thread-safe. It also describes
 * the untrained first version of the demo's model (a DJL-native MLP: {@code model.json} and {@code architecture.json}
 * with {@code "initialize"}), as plain JSON: the server core knows no plugin classes.
 */
sealed interface World permits FeatureWorld, ImageWorld {

    /** {@code features} or {@code images}: the name of the world in names and on the timeline. */
    String kind();

    /** The model's labels, in its output order. */
    List<String> labels();

    /**
     * One labelled input, of a class drawn uniformly.
     *
     * @param drifted from the drifted world rather than the original one
     */
    Sample next(boolean drifted);

    /** The {@code model.json} of the demo's model. */
    String modelJson();

    /** The {@code architecture.json} of the untrained version: the MLP, with weights to initialise from {@code seed}. */
    String untrainedArchitecture(long seed);

    /** The network in a few words, such as {@code MLP 4-16-3}. */
    String network();

    /** The original world in a few words. */
    String description();

    /** What the drift does, in a few words. */
    String driftDescription();

    /**
     * A labelled input.
     *
     * @param payload the predict request body, exactly as sent (and as a dataset item keeps it)
     * @param contentType its content type: {@code application/json} or {@code image/png}
     * @param features the feature vector of a features world, else {@code null}
     * @param label the true label
     * @param drifted whether it comes from the drifted world
     */
    record Sample(byte[] payload, String contentType, double[] features, String label, boolean drifted) {}
}
