package dev.flywheel.server.demo;

import java.time.Duration;

/**
 * The sizes, speeds and seeds of one demo run.
 *
 * @param calm predictions from the original world before the drift
 * @param maxDrifted most predictions from the drifted world (the demo fails if the loop has not closed by then)
 * @param after predictions on the drifted world served by the promoted version that measure its accuracy
 * @param rate predictions per second
 * @param threads concurrent traffic threads
 * @param threshold reviews since the last run that start a run (the review-threshold trigger)
 * @param driftWindow recent predictions the drift trigger compares with the reference
 * @param driftMinWindow predictions the drift trigger needs before deciding
 * @param minSamples paired reviewed predictions the promoter needs before deciding on accuracy
 * @param promotionThreshold accuracy gain the shadow must show
 * @param significance McNemar p-value below which the gain counts
 * @param epochs epochs of the built-in trainer
 * @param errorRate share of reviews in which the simulated reviewer picks a wrong label
 * @param seed seed of the world and the reviewer
 * @param timeout longest the story may take before the demo gives up
 * @param initialSamples labelled samples of the original world that the first version is trained on (a fifth of them
 *     held out for validation); also the drift trigger's reference
 * @param initialEpochs epochs of the run that trains the first version
 */
public record DemoSettings(long calm, long maxDrifted, long after, double rate, int threads, int threshold,
        int driftWindow, int driftMinWindow, int minSamples, double promotionThreshold, double significance,
        int epochs, double errorRate, long seed, Duration timeout, int initialSamples, int initialEpochs) {

    /**
     * The sizes of {@code --fast}: about two minutes on two CPU cores for both worlds side by side. The drift trigger
     * decides only on a full window, twice the calm traffic, so that it fires once some 200 drifted predictions were
     * made and most of them reviewed; deciding on half a window fires after a few dozen, and a run on so few learns the
     * drifted world less well (measured: 0.75 instead of 0.9 and more on the drifted features world). For the same
     * reason the review threshold (450) is above what the reviewer has done when that window fills: at 300 it fired
     * first, on ~100 drifted reviews, and the features world ended at 0.78-0.79; at 450 the drift trigger starts the
     * run on ~380 reviews and it ended at 0.87-0.96 (three runs), in about the same time.
     */
    public static DemoSettings fast() {
        return new DemoSettings(200, 4000, 200, 25, 4, 450, 400, 400, 60, 0.05, 0.05, 30, 0.03, 42,
                Duration.ofMinutes(6), 400, 30);
    }

    /** The default sizes: a slower story with more evidence at each step. */
    public static DemoSettings standard() {
        return new DemoSettings(500, 20000, 500, 15, 4, 700, 600, 600, 200, 0.05, 0.05, 40, 0.03, 42,
                Duration.ofMinutes(20), 600, 40);
    }
}
