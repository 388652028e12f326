package dev.flywheel.bench;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.translate.NoopTranslator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Makes the slow shadow model of the {@code shadow} benchmark: a DJL-native ("djl" format) MLP with the same
 * inputs and labels as {@code fixtures/models/features-3class} but wide hidden layers, so that one forward pass
 * reads hundreds of megabytes of weights and takes tens of milliseconds on a CPU. It is a real model of the
 * artifact contract (architecture.json + model-0000.params in a zip, a model.json), so the server checks and loads
 * it like any upload; only its size makes it slow — no sleep anywhere.
 *
 * <p>Runs as a child process ({@code java -cp flywheel-bench.jar dev.flywheel.bench.SlowModelBuilder FIXTURE_DIR
 * OUT_DIR HIDDEN}, e.g. {@code 4096,4096,4096}) because libtorch loads once per JVM and the harness never loads it.
 * Writes {@code OUT_DIR/model.zip} and {@code OUT_DIR/model.json}, and prints one {@value #RESULT} line of JSON
 * with its own single-row forward-pass time, measured the way the runtime runs it (one row, eval mode).
 */
public final class SlowModelBuilder {

    /** Prefix of the result line on stdout. */
    public static final String RESULT = "RESULT ";

    private SlowModelBuilder() {}

    public static void main(String[] args) throws Exception {
        Path fixture = Path.of(args[0]);
        Path out = Path.of(args[1]);
        List<Integer> hidden = parseHidden(args[2]);
        var json = new ObjectMapper();
        JsonNode meta = json.readTree(fixture.resolve("model.json").toFile());
        int inputSize = meta.path("input").path("size").asInt();
        int classes = meta.path("labels").size();

        Files.createDirectories(out);
        Path dir = Files.createTempDirectory(out, "djl-");
        Map<String, Object> result = new LinkedHashMap<>();
        try (Model model = Model.newInstance("mlp", Device.cpu(), "PyTorch")) {
            // The block runtime-djl's MlpArchitecture builds from architecture.json; the parameter file only loads
            // into the same sequence of layers, and the server refuses the upload otherwise.
            SequentialBlock block = new SequentialBlock();
            block.add(Blocks.batchFlattenBlock(inputSize));
            for (int width : hidden) {
                block.add(Linear.builder().setUnits(width).build());
                block.add(Activation.reluBlock());
            }
            block.add(Linear.builder().setUnits(classes).build());
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, inputSize));
            model.save(dir, "model");
            Files.writeString(dir.resolve("architecture.json"), architectureJson(inputSize, hidden, classes));

            try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator(null));
                    NDManager m = model.getNDManager().newSubManager()) {
                float[] row = {5.9f, 2.6f, 4.2f, 1.3f};
                long[] times = new long[25];
                for (int i = -5; i < times.length; i++) {
                    long start = System.nanoTime();
                    predictor.predict(new NDList(m.create(row, new Shape(1, inputSize)))).close();
                    if (i >= 0) {
                        times[i] = System.nanoTime() - start;
                    }
                }
                Arrays.sort(times);
                result.put("forward_ms_p50", times[times.length / 2] / 1e6);
                result.put("forward_ms_max", times[times.length - 1] / 1e6);
            }
        }
        Path params = dir.resolve("model-0000.params");
        result.put("params_bytes", Files.size(params));
        result.put("parameters", parameters(inputSize, hidden, classes));
        Path zip = out.resolve("model.zip");
        zip(dir, zip);
        ObjectNode slowMeta = meta.deepCopy();
        slowMeta.put("format", "djl");
        Files.writeString(out.resolve("model.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(slowMeta));
        ChildProcess.deleteTree(dir);
        result.put("zip_bytes", Files.size(zip));
        System.out.println(RESULT + json.writeValueAsString(result));
        System.out.flush();
        // libtorch's threads are not daemons everywhere; the result is out, so end now.
        System.exit(0);
    }

    /** {@code "4096,4096"} to its widths; each 1..65536, at least one layer. */
    static List<Integer> parseHidden(String spec) {
        var widths = new ArrayList<Integer>();
        for (String w : spec.split(",")) {
            int n = Integer.parseInt(w.trim());
            if (n < 1 || n > 65_536) {
                throw new IllegalArgumentException("a hidden layer is 1 to 65536 units wide, not " + n);
            }
            widths.add(n);
        }
        if (widths.isEmpty()) {
            throw new IllegalArgumentException("at least one hidden layer");
        }
        return List.copyOf(widths);
    }

    /** The architecture.json of runtime-djl's "djl" format. */
    static String architectureJson(int inputSize, List<Integer> hidden, int classes) {
        var o = new ObjectMapper().createObjectNode();
        o.put("type", "mlp");
        o.put("input_size", inputSize);
        hidden.forEach(o.putArray("hidden")::add);
        o.put("classes", classes);
        o.put("activation", "relu");
        return o.toString();
    }

    /** Weights and biases of the MLP: what one forward pass of one row has to read. */
    static long parameters(int inputSize, List<Integer> hidden, int classes) {
        long total = 0;
        int in = inputSize;
        for (int width : hidden) {
            total += (long) in * width + width;
            in = width;
        }
        return total + (long) in * classes + classes;
    }

    /** Zips the files of {@code dir} at the zip's top, uncompressed: random weights do not compress anyway. */
    private static void zip(Path dir, Path zip) throws IOException {
        try (OutputStream os = Files.newOutputStream(zip); var z = new ZipOutputStream(os);
                Stream<Path> files = Files.list(dir)) {
            z.setLevel(Deflater.NO_COMPRESSION);
            for (Path f : files.sorted().toList()) {
                z.putNextEntry(new ZipEntry(f.getFileName().toString()));
                Files.copy(f, z);
                z.closeEntry();
            }
        }
    }
}
