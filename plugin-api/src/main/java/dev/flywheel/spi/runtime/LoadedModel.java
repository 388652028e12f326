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

    /**
     * Predicts a batch on the calling thread, without joining or waiting for other callers' batches.
     *
     * <p>The server calls this for background work, the shadow predictions, from threads that run at the lowest
     * operating-system priority, so that the work only uses CPU time the primary models leave idle. For that to
     * hold, the work must happen on the calling thread or on threads it starts (which inherit its priority): an
     * implementation that runs forward passes on threads of its own, as a batching one does, overrides this. The
     * default calls {@link #predict}, which is correct but runs at whatever priority the implementation's own
     * threads have.
     *
     * @param inputs one or more inputs
     * @return one output per input, in the same order
     * @throws InvalidInputException as for {@link #predict}
     */
    default List<ModelOutput> predictOnCallingThread(List<ModelInput> inputs) throws InvalidInputException {
        return predict(inputs);
    }

    /** Frees native memory. The server calls it once no deployment uses the model any more. */
    @Override
    void close();
}
