package dev.flywheel.plugins.provisioner.kubernetes;

import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed configuration of one Kubernetes provisioner instance.
 *
 * @param namespace where Jobs and their Secrets are created
 * @param image the job wrapper image used when a run names none
 * @param command the wrapper's entry point inside the image
 * @param gpuNodeSelectors GPU type → node labels a node must carry to offer it
 * @param gpuResource the extended resource a GPU is requested as, such as {@code nvidia.com/gpu}
 * @param tolerations added to every job's pod
 * @param serviceAccount the pods' service account, or {@code null} for the namespace default
 * @param cpuRequest the container's CPU request, or {@code null}
 * @param memoryRequest the container's memory request, or {@code null}
 * @param labels extra labels on Jobs and pods
 * @param ttlSecondsAfterFinished how long Kubernetes keeps a finished Job (and so its pod's log)
 */
public record KubernetesSettings(
        String namespace,
        String image,
        List<String> command,
        Map<String, Map<String, String>> gpuNodeSelectors,
        String gpuResource,
        List<Toleration> tolerations,
        String serviceAccount,
        String cpuRequest,
        String memoryRequest,
        Map<String, String> labels,
        Integer ttlSecondsAfterFinished) {

    private static final Set<String> EFFECTS = Set.of("NoSchedule", "PreferNoSchedule", "NoExecute");

    public KubernetesSettings {
        command = List.copyOf(command);
        var selectors = new LinkedHashMap<String, Map<String, String>>();
        // Copies that keep the configured order, which the user sees again in messages and the GPU list.
        gpuNodeSelectors.forEach((type, selector) -> selectors.put(type,
                java.util.Collections.unmodifiableMap(new LinkedHashMap<>(selector))));
        gpuNodeSelectors = java.util.Collections.unmodifiableMap(selectors);
        tolerations = List.copyOf(tolerations);
        labels = Map.copyOf(labels);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("command: must name the job wrapper, such as [\"flywheel\", \"job\", \"run\"]");
        }
    }

    /**
     * Parses a node selector written as {@code key=value[,key=value…]}.
     *
     * @throws IllegalArgumentException naming the GPU type and what is wrong
     */
    static Map<String, String> parseNodeSelector(String gpuType, String text) {
        var selector = new LinkedHashMap<String, String>();
        for (String part : text.split(",")) {
            String pair = part.trim();
            int eq = pair.indexOf('=');
            if (eq <= 0 || pair.substring(0, eq).isBlank()) {
                throw new IllegalArgumentException("gpu_node_selectors." + gpuType + ": \"" + pair
                        + "\" is not key=value (write e.g. \"nvidia.com/gpu.product=NVIDIA-A10G\")");
            }
            selector.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
        }
        return selector;
    }

    /** Parses every configured GPU type's node selector, keeping the configured order. */
    static Map<String, Map<String, String>> parseNodeSelectors(Map<String, String> raw) {
        var result = new LinkedHashMap<String, Map<String, String>>();
        raw.forEach((type, text) -> result.put(type, parseNodeSelector(type, text)));
        return result;
    }

    /**
     * Parses a toleration written as {@code key[=value][:Effect]}: without a value the key only has to exist on
     * the taint, without an effect every effect is tolerated.
     *
     * @throws IllegalArgumentException when it does not have that shape or the effect is unknown
     */
    static Toleration parseToleration(String text) {
        String rest = text.trim();
        String effect = null;
        // Taint keys and values cannot contain ':', so the last one separates the effect.
        int colon = rest.lastIndexOf(':');
        if (colon >= 0) {
            effect = rest.substring(colon + 1).trim();
            rest = rest.substring(0, colon).trim();
            if (!EFFECTS.contains(effect)) {
                throw new IllegalArgumentException("tolerations: \"" + text + "\" has effect \"" + effect
                        + "\"; allowed: NoSchedule, PreferNoSchedule, NoExecute");
            }
        }
        String key = rest;
        String value = null;
        int eq = rest.indexOf('=');
        if (eq >= 0) {
            key = rest.substring(0, eq).trim();
            value = rest.substring(eq + 1).trim();
        }
        if (key.isEmpty()) {
            throw new IllegalArgumentException("tolerations: \"" + text
                    + "\" has no key (write key[=value][:Effect], e.g. \"nvidia.com/gpu:NoSchedule\")");
        }
        return new TolerationBuilder()
                .withKey(key)
                .withOperator(value == null ? "Exists" : "Equal")
                .withValue(value)
                .withEffect(effect)
                .build();
    }

    /** Parses every configured toleration. */
    static List<Toleration> parseTolerations(List<String> raw) {
        var result = new ArrayList<Toleration>();
        for (String text : raw) {
            result.add(parseToleration(text));
        }
        return result;
    }
}
