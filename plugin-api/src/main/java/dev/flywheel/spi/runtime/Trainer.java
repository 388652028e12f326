package dev.flywheel.spi.runtime;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * Trains a new model version from a dataset, in the job process that {@code flywheel job run} starts. It
 * follows the same contract as a user's own training command: read the dataset and base model, write the
 * new model's {@code model.json}, artifact and {@code metrics.json} to the output directory.
 */
public interface Trainer {

    /**
     * Trains.
     *
     * @param job where the inputs are and where the output goes
     * @param log the run's console: what is printed here streams to the run log
     * @return the metrics also written to {@code metrics.json}, such as {@code val_accuracy}
     * @throws Exception when training fails; the run fails with this message
     */
    Map<String, Double> train(TrainingJob job, PrintStream log) throws Exception;

    /**
     * The training job contract's inputs and output.
     *
     * @param datasetDirectory {@code manifest.jsonl} and {@code assets/}
     * @param baseModelDirectory the base version's {@code model.json} and artifact
     * @param outputDirectory where the new model, its {@code model.json} and {@code metrics.json} go
     * @param params the run's hyper-parameters
     */
    record TrainingJob(Path datasetDirectory, Path baseModelDirectory, Path outputDirectory, Map<String, Object> params) {}
}
