package dev.flywheel.spi.runtime;

import java.util.Map;

/**
 * A classification result.
 *
 * @param label the most probable label
 * @param confidence that label's probability, 0..1
 * @param scores every label's probability, in the order of the metadata's labels
 */
public record ModelOutput(String label, double confidence, Map<String, Double> scores) {
    public ModelOutput {
        scores = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(scores));
    }
}
