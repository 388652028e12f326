package dev.flywheel.plugins.provisioner.local;

import dev.flywheel.spi.provisioner.GpuType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The GPUs {@code nvidia-smi} reports on this host, and which of them a requested GPU type means.
 *
 * <p>A host without the binary, or where it fails or hangs, has no GPUs: the provisioner then runs CPU jobs
 * only, and says why in the error of a job that asked for a GPU.
 */
final class GpuInventory {

    /**
     * One GPU.
     *
     * @param index nvidia-smi's index, the value for {@code CUDA_VISIBLE_DEVICES}
     * @param name the device name, such as {@code NVIDIA H100 80GB HBM3}
     * @param memory the total memory as reported, such as {@code 81559 MiB}; empty when not reported
     */
    record Gpu(int index, String name, String memory) {}

    /**
     * The outcome of a detection.
     *
     * @param gpus the GPUs found, by index
     * @param problem why none could be detected, or {@code null} when nvidia-smi answered
     */
    record Detection(List<Gpu> gpus, String problem) {}

    // GPUs do not come and go while the server runs, and nvidia-smi can take a second on a busy host, so a
    // detection is reused for a while rather than run on every poll of the GPU types.
    private static final long CACHE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final String command;
    private final Duration detectionTimeout;
    private final Map<String, String> typeSubstrings;
    private Detection cached;
    private long cachedAt;

    /**
     * @param command the nvidia-smi command (a name looked up on the PATH, or a path)
     * @param detectionTimeout how long nvidia-smi may take before the host counts as having no GPU
     * @param typeSubstrings requested type name → a substring of the device name; types not in it match
     *     device names that contain the type name itself
     */
    GpuInventory(String command, Duration detectionTimeout, Map<String, String> typeSubstrings) {
        this.command = command;
        this.detectionTimeout = detectionTimeout;
        this.typeSubstrings = Map.copyOf(typeSubstrings);
    }

    /** The GPUs on this host, from a recent nvidia-smi run. */
    synchronized Detection detect() {
        long now = System.nanoTime();
        if (cached == null || now - cachedAt > CACHE_NANOS) {
            cached = runNvidiaSmi();
            cachedAt = now;
        }
        return cached;
    }

    private Detection runNvidiaSmi() {
        Path output = null;
        try {
            // Output goes to a file rather than a pipe so that a hanging nvidia-smi cannot block a reader thread.
            output = Files.createTempFile("flywheel-nvidia-smi", ".csv");
            Process process = new ProcessBuilder(command, "--query-gpu=index,name,memory.total", "--format=csv,noheader")
                    .redirectOutput(output.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            if (!process.waitFor(detectionTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                return new Detection(List.of(), command + " did not answer within " + detectionTimeout);
            }
            if (process.exitValue() != 0) {
                return new Detection(List.of(), command + " exited with status " + process.exitValue());
            }
            return new Detection(parse(Files.readString(output, StandardCharsets.UTF_8)), null);
        } catch (IOException e) {
            return new Detection(List.of(), command + " could not be run (" + e.getMessage() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Detection(List.of(), "GPU detection was interrupted");
        } finally {
            if (output != null) {
                try {
                    Files.deleteIfExists(output);
                } catch (IOException ignored) {
                    // A leftover temp file is harmless.
                }
            }
        }
    }

    /** Parses {@code index, name, memory.total} lines; lines that are not GPUs (driver messages) are skipped. */
    static List<Gpu> parse(String csv) {
        var gpus = new ArrayList<Gpu>();
        for (String line : csv.split("\\R")) {
            String[] fields = line.split(",");
            if (fields.length < 2) {
                continue;
            }
            int index;
            try {
                index = Integer.parseInt(fields[0].trim());
            } catch (NumberFormatException e) {
                continue;
            }
            // Names have no commas today, but if one ever does, the memory is still the last field.
            int nameEnd = fields.length >= 3 ? fields.length - 1 : fields.length;
            String name = String.join(",", List.of(fields).subList(1, nameEnd)).trim();
            String memory = fields.length >= 3 ? fields[fields.length - 1].trim() : "";
            if (!name.isEmpty()) {
                gpus.add(new Gpu(index, name, memory));
            }
        }
        return List.copyOf(gpus);
    }

    /** Whether a GPU is of the requested type (case-insensitive). */
    boolean matches(String requestedType, Gpu gpu) {
        String substring = substringFor(requestedType);
        return gpu.name().toLowerCase(Locale.ROOT).contains(substring.toLowerCase(Locale.ROOT));
    }

    private String substringFor(String requestedType) {
        return typeSubstrings.entrySet().stream()
                .filter(e -> e.getKey().equalsIgnoreCase(requestedType))
                .map(Map.Entry::getValue)
                .findFirst()
                .orElse(requestedType);
    }

    /**
     * The GPU types on offer: each configured type name that matches a GPU here, and each device name that no
     * configured type covers, with how many are not held by a job.
     */
    List<GpuType> types(Set<Integer> heldIndices) {
        record Offer(int available, Set<String> devices) {}
        var offers = new LinkedHashMap<String, Offer>();
        for (Gpu gpu : detect().gpus()) {
            List<String> names = typeSubstrings.keySet().stream().sorted().filter(t -> matches(t, gpu)).toList();
            if (names.isEmpty()) {
                names = List.of(gpu.name());
            }
            int free = heldIndices.contains(gpu.index()) ? 0 : 1;
            String device = gpu.memory().isEmpty() ? gpu.name() : gpu.name() + " (" + gpu.memory() + ")";
            for (String name : names) {
                Offer offer = offers.getOrDefault(name, new Offer(0, new LinkedHashSet<>()));
                offer.devices().add(device);
                offers.put(name, new Offer(offer.available() + free, offer.devices()));
            }
        }
        return offers.entrySet().stream()
                .map(e -> new GpuType(e.getKey(), e.getValue().available(), String.join(", ", e.getValue().devices())))
                .toList();
    }

    /** Summarises GPUs for an error message: {@code none}, or {@code 2 x NVIDIA L4, 1 x NVIDIA T4}. */
    static String describe(Collection<Gpu> gpus) {
        if (gpus.isEmpty()) {
            return "none";
        }
        Map<String, Long> counts = gpus.stream()
                .collect(Collectors.groupingBy(Gpu::name, LinkedHashMap::new, Collectors.counting()));
        return counts.entrySet().stream().map(e -> e.getValue() + " x " + e.getKey()).collect(Collectors.joining(", "));
    }
}
