package dev.flywheel.plugins.runtime.djl;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.flywheel.spi.runtime.InvalidInputException;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import dev.flywheel.spi.runtime.ModelOutput;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * A DJL model (TorchScript or DJL-native, both a DJL {@link Model} with a block) serving classification
 * requests through a {@link Batcher}.
 *
 * <p>Inputs are decoded and checked on the caller's thread; only the forward pass runs on the batcher's
 * thread, inside a sub-manager that is closed after every batch so that no tensor outlives its pass.
 * {@link #predictOnCallingThread} runs the pass on the caller's thread instead (the server's low-priority shadow
 * threads): forward passes of a loaded model may run concurrently, as libtorch allows for inference, each in its own
 * sub-manager.
 */
final class DjlLoadedModel implements LoadedModel {

    private final Model model;
    private final ModelMetadata metadata;
    private final InputDecoder decoder;
    private final long[] batchShapeTail;
    private final int maxBatchSize;
    private final Batcher batcher;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Read-held by passes on callers' threads; close() takes it to wait for them before freeing native memory. */
    private final ReadWriteLock callerPasses = new ReentrantReadWriteLock();
    private final Consumer<DjlLoadedModel> onClose;

    /**
     * Checks the model against its metadata with a forward pass of zeros, then starts serving it.
     *
     * @param model a loaded model; owned (and closed) by the returned instance, or closed here if checks fail
     * @param onClose told when the model is closed
     * @throws InvalidModelException when the model does not take the declared input or does not give one score
     *     per label
     */
    static DjlLoadedModel start(Model model, ModelMetadata metadata, int maxBatchSize, Duration maxBatchDelay,
            Consumer<DjlLoadedModel> onClose) throws InvalidModelException {
        try {
            return new DjlLoadedModel(model, metadata, maxBatchSize, maxBatchDelay, onClose);
        } catch (InvalidModelException | RuntimeException | Error e) {
            PyTorchEngine.withPluginLoader(() -> {
                model.close();
                return null;
            });
            throw e;
        }
    }

    private DjlLoadedModel(Model model, ModelMetadata metadata, int maxBatchSize, Duration maxBatchDelay,
            Consumer<DjlLoadedModel> onClose) throws InvalidModelException {
        this.model = model;
        this.metadata = metadata;
        this.onClose = onClose;
        this.decoder = new InputDecoder(metadata.input());
        this.batchShapeTail = decoder.rowShape();
        this.maxBatchSize = maxBatchSize;
        dryRun();
        this.batcher = new Batcher(model.getName(), maxBatchSize, maxBatchDelay, this::forward,
                PyTorchEngine.PLUGIN_LOADER);
    }

    @Override
    public ModelMetadata metadata() {
        return metadata;
    }

    @Override
    public List<ModelOutput> predict(List<ModelInput> inputs) throws InvalidInputException {
        Objects.requireNonNull(inputs, "inputs");
        if (closed.get()) {
            throw new IllegalStateException("the model has been unloaded");
        }
        float[][] rows = decoder.decodeAll(inputs);
        List<ModelOutput> outputs = new ArrayList<>(rows.length);
        addOutputs(batcher.submit(rows), outputs);
        return outputs;
    }

    @Override
    public List<ModelOutput> predictOnCallingThread(List<ModelInput> inputs) throws InvalidInputException {
        Objects.requireNonNull(inputs, "inputs");
        float[][] rows = decoder.decodeAll(inputs);
        callerPasses.readLock().lock();
        try {
            if (closed.get()) {
                throw new IllegalStateException("the model has been unloaded");
            }
            List<ModelOutput> outputs = new ArrayList<>(rows.length);
            for (int from = 0; from < rows.length; from += maxBatchSize) {
                float[][] chunk = Arrays.copyOfRange(rows, from, Math.min(rows.length, from + maxBatchSize));
                // forward() checks that the model gave one row per input.
                addOutputs(PyTorchEngine.withPluginLoader(() -> forward(chunk)), outputs);
            }
            return outputs;
        } finally {
            callerPasses.readLock().unlock();
        }
    }

    /** What the batcher has done: forward passes, rows, largest batch. */
    Batcher.Stats batchStats() {
        return batcher.stats();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            batcher.close();
            // Passes on callers' threads that started before the flag was set finish first; later ones see it.
            callerPasses.writeLock().lock();
            callerPasses.writeLock().unlock();
        } finally {
            PyTorchEngine.withPluginLoader(() -> {
                model.close();
                return null;
            });
            onClose.accept(this);
        }
    }

    /**
     * Runs zeros of the declared input shape through the model, two rows so that a model that cannot take a
     * batch is caught now rather than when requests get batched.
     */
    private void dryRun() throws InvalidModelException {
        float[][] zeros = {new float[decoder.rowLength()], new float[decoder.rowLength()]};
        float[][] out;
        try {
            out = PyTorchEngine.withPluginLoader(() -> forward(zeros));
        } catch (OutputShapeException e) {
            throw new InvalidModelException(e.getMessage());
        } catch (RuntimeException e) {
            throw new InvalidModelException("the model fails on an input of shape " + Arrays.toString(batchShape(2))
                    + " (as model.json's input declares, with a batch of 2): " + engineMessage(e), e);
        }
        for (float[] row : out) {
            for (float v : row) {
                if (!Float.isFinite(v)) {
                    throw new InvalidModelException("for an input of zeros the model gives the score " + v
                            + "; its weights or its arithmetic are broken");
                }
            }
        }
        if (metadata.output() == ModelMetadata.OutputKind.PROBABILITIES) {
            for (float[] row : out) {
                double sum = 0;
                for (float v : row) {
                    if (!(v >= -1e-4f && v <= 1 + 1e-4f)) {
                        throw new InvalidModelException(notProbabilities("gives the score " + v));
                    }
                    sum += v;
                }
                if (Math.abs(sum - 1) > 1e-3) {
                    throw new InvalidModelException(notProbabilities("gives scores that sum to " + (float) sum));
                }
            }
        }
    }

    private static String notProbabilities(String what) {
        return "model.json declares \"output\": \"probabilities\" but for an input of zeros the model " + what
                + "; if the model ends without softmax, declare \"output\": \"logits\"";
    }

    /** One forward pass over {@code rows}; runs on the dispatcher thread (or the loading thread, for the dry run). */
    private float[][] forward(float[][] rows) {
        int n = rows.length;
        int rowLength = decoder.rowLength();
        float[] flat = new float[n * rowLength];
        for (int i = 0; i < n; i++) {
            System.arraycopy(rows[i], 0, flat, i * rowLength, rowLength);
        }
        try (NDManager batch = model.getNDManager().newSubManager()) {
            NDArray x = batch.create(flat, new Shape(batchShape(n)));
            NDList out = model.getBlock().forward(new ParameterStore(batch, false), new NDList(x), false);
            if (out.isEmpty()) {
                throw new OutputShapeException("the model returns no tensor; it must return [batch, "
                        + metadata.labels().size() + "] scores");
            }
            // A model returning several tensors (say logits and embeddings) is read by its first one.
            NDArray scores = out.get(0);
            Shape shape = scores.getShape();
            int labels = metadata.labels().size();
            if (shape.dimension() != 2 || shape.get(0) != n || shape.get(1) != labels) {
                throw new OutputShapeException("the model returns a tensor of shape " + shape + " for a batch of " + n
                        + "; expected (" + n + ", " + labels + "): one score per label, and model.json has " + labels
                        + " labels " + metadata.labels()
                        + (shape.dimension() == 2 && shape.get(0) == n
                                ? " but the model has " + shape.get(1) + " output columns" : ""));
            }
            float[] values = scores.toType(DataType.FLOAT32, false).toFloatArray();
            float[][] result = new float[n][];
            for (int i = 0; i < n; i++) {
                result[i] = Arrays.copyOfRange(values, i * labels, (i + 1) * labels);
            }
            return result;
        }
    }

    private long[] batchShape(int n) {
        long[] shape = new long[batchShapeTail.length + 1];
        shape[0] = n;
        System.arraycopy(batchShapeTail, 0, shape, 1, batchShapeTail.length);
        return shape;
    }

    private void addOutputs(float[][] raw, List<ModelOutput> outputs) throws InvalidInputException {
        for (float[] scores : raw) {
            outputs.add(toOutput(scores));
        }
    }

    private ModelOutput toOutput(float[] raw) throws InvalidInputException {
        double[] p = new double[raw.length];
        for (int i = 0; i < raw.length; i++) {
            if (!Float.isFinite(raw[i])) {
                // The dry run showed the model gives finite scores for an ordinary input, and every input value is a
                // finite float; so an overflow here comes from values too extreme for the model's arithmetic (such
                // as 3.4e38): the caller's input, not the model, and never "NaN% sure".
                throw new InvalidInputException("the model's score for label '" + metadata.labels().get(i) + "' is "
                        + raw[i] + " for this input: its values are too large for the model to compute with; send "
                        + "values in the range the model was trained on");
            }
            p[i] = raw[i];
        }
        if (metadata.output() == ModelMetadata.OutputKind.LOGITS) {
            softmaxInPlace(p);
        }
        int best = 0;
        Map<String, Double> scores = new LinkedHashMap<>();
        for (int i = 0; i < p.length; i++) {
            scores.put(metadata.labels().get(i), p[i]);
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return new ModelOutput(metadata.labels().get(best), p[best], scores);
    }

    static void softmaxInPlace(double[] v) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : v) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (int i = 0; i < v.length; i++) {
            // Shifted by the maximum so that large logits do not overflow exp().
            v[i] = Math.exp(v[i] - max);
            sum += v[i];
        }
        for (int i = 0; i < v.length; i++) {
            v[i] /= sum;
        }
    }

    /** PyTorch's errors carry a TorchScript stack; the last line is the one that says what went wrong. */
    static String engineMessage(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        String[] lines = message.strip().split("\\R");
        String last = lines[lines.length - 1].strip();
        for (int i = lines.length - 1; i >= 0 && last.isEmpty(); i--) {
            last = lines[i].strip();
        }
        return last.length() > 400 ? last.substring(0, 400) + "..." : last;
    }

    /** The model's output does not have the shape the metadata promises. */
    private static final class OutputShapeException extends IllegalStateException {
        OutputShapeException(String message) {
            super(message);
        }
    }
}
