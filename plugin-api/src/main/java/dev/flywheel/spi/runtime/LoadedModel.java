package dev.flywheel.spi.runtime;

import java.util.List;

/** A model in memory, ready to predict. Must be safe for concurrent use. */
public interface LoadedModel extends AutoCloseable {

    /** The metadata it was loaded with. */
    ModelMetadata metadata();

    /**
     * Predicts a batch. Implementations are free to gather concurrent calls into larger forward passes.
     *
     * @param inputs one or more inputs
     * @return one output per input, in the same order
     * @throws InvalidInputException when an input does not fit the model (wrong size, wrong kind, an image
     *     that does not decode); nothing is predicted then
     */
    List<ModelOutput> predict(List<ModelInput> inputs) throws InvalidInputException;

    /** Frees native memory. The server calls it once no deployment uses the model any more. */
    @Override
    void close();
}
