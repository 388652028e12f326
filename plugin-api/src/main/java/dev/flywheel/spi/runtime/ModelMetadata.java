package dev.flywheel.spi.runtime;

import java.util.List;
import java.util.Objects;

/**
 * The {@code model.json} of a model version: what the artifact is and how to feed it.
 *
 * @param format the artifact format, such as {@code "torchscript"} or {@code "djl"}
 * @param task the task; {@code "classification"} is the one the server understands today
 * @param labels the class labels, in the order of the model's output columns
 * @param input what the model takes
 * @param output whether the model emits logits (the runtime applies softmax) or probabilities
 */
public record ModelMetadata(String format, String task, List<String> labels, InputSpec input, OutputKind output) {
    public ModelMetadata {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(task, "task");
        labels = List.copyOf(labels);
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(output, "output");
    }

    /** How to turn the model's last layer into class probabilities. */
    public enum OutputKind {
        /** Raw scores; the runtime applies softmax. */
        LOGITS,
        /** Already probabilities; used as they are. */
        PROBABILITIES
    }
}
