package dev.flywheel.plugins.runtime.djl;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import com.google.gson.JsonObject;
import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import dev.flywheel.spi.runtime.ModelOutput;
import dev.flywheel.spi.runtime.Trainer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * The built-in trainer: fine-tunes the base model (TorchScript or DJL-native) on the dataset's train split with
 * Adam and softmax cross-entropy, and writes the new version in the base's own format.
 *
 * <p>TorchScript models are trained in place: the module is loaded with its parameters requiring gradients,
 * DJL's optimiser updates them, and the module is written back with TorchScript's own serialiser, so a fine-tuned
 * {@code model.pt} is still a plain TorchScript file that PyTorch users can load. DJL-native models are rebuilt
 * from their {@code architecture.json}, loaded (or, for an untrained base whose spec has {@code "initialize"},
 * given its seeded fresh weights), trained and saved as {@code model-0000.params} beside the spec, without
 * {@code "initialize"}.
 *
 * <p>Both accuracies in {@code metrics.json} are measured through the serving path ({@link DjlModelRuntime#load}
 * and {@link LoadedModel#predict} on the validation payloads), so they are what a deployment of the base and of the
 * new model would score, and the written model is proven loadable before the run reports success.
 */
public final class DjlTrainer implements Trainer {

    /** The file with the run's numbers in the output directory. */
    public static final String METRICS_FILE = "metrics.json";
    /** The TorchScript artifact's name, as the server keeps it. */
    static final String TORCHSCRIPT_FILE = "model.pt";
    /** The DJL artifact: the zip uploaded as the new version. */
    static final String DJL_ZIP = "model.zip";
    /** The DJL artifact unpacked, as the server unpacks it, for loading. */
    static final String DJL_DIR = "model";

    /** Probabilities are floored by this before the log so that a confident mistake still has a gradient. */
    private static final float LOG_EPSILON = 1e-7f;
    /** How many inputs the metrics pass hands the serving path at once. */
    private static final int PREDICT_CHUNK = 256;

    private final DjlModelRuntime runtime;

    /** @param runtime loads the base model and the result the way the server will */
    DjlTrainer(DjlModelRuntime runtime) {
        this.runtime = runtime;
    }

    @Override
    public Map<String, Double> train(TrainingJob job, PrintStream log) throws Exception {
        return PyTorchEngine.withPluginLoader(() -> run(job, log));
    }

    private Map<String, Double> run(TrainingJob job, PrintStream log) throws Exception {
        TrainingParams params = TrainingParams.parse(job.params());
        Engine engine = PyTorchEngine.get();
        Device device = device(params.device(), engine);
        println(log, "built-in trainer: DJL " + Engine.getDjlVersion() + ", PyTorch " + engine.getVersion() + ", on "
                + describe(device));
        println(log, "parameters: " + params.describe());

        List<Path> scratch = new ArrayList<>();
        try {
            ModelArtifact base = locateBase(job.baseModelDirectory(), scratch);
            ModelMetadata metadata = base.metadata();
            println(log, "base model: " + metadata.format() + ", labels " + metadata.labels() + ", input "
                    + describe(metadata.input()) + ", output " + metadata.output().name().toLowerCase(Locale.ROOT));

            TrainingSet data = TrainingSet.read(job.datasetDirectory(), metadata, params.allowNewLabels(),
                    params.seed(), log);
            println(log, "dataset: " + data.train().size() + " train items " + perLabel(data.train(), metadata)
                    + ", " + data.validation().size() + " validation items " + perLabel(data.validation(), metadata));

            double baseAccuracy;
            try (LoadedModel served = loadForServing(base, "the base model")) {
                baseAccuracy = servedAccuracy(served, data.validation());
            }
            println(log, String.format(Locale.ROOT, "base model validation accuracy: %.4f", baseAccuracy));

            Path out = Files.createDirectories(job.outputDirectory());
            engine.setRandomSeed(Long.hashCode(params.seed()));
            double trainAccuracy;
            double trainLoss;
            ModelArtifact result;
            try (Model model = openForTraining(base, device, engine)) {
                double[] fit = fit(model, metadata, data, params, device, log);
                trainLoss = fit[0];
                trainAccuracy = fit[1];
                result = save(model, base, out, device, engine, scratch);
            }

            double newAccuracy;
            try (LoadedModel served = loadForServing(result, "the trained model")) {
                newAccuracy = servedAccuracy(served, data.validation());
            }

            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put("val_accuracy", newAccuracy);
            metrics.put("base_val_accuracy", baseAccuracy);
            metrics.put("train_accuracy", trainAccuracy);
            metrics.put("train_loss", trainLoss);
            metrics.put("train_items", (double) data.train().size());
            metrics.put("validation_items", (double) data.validation().size());
            metrics.put("epochs", (double) params.epochs());
            writeMetrics(out.resolve(METRICS_FILE), metrics, device);
            println(log, String.format(Locale.ROOT, "validation accuracy: base %.4f -> new %.4f (%+.4f)",
                    baseAccuracy, newAccuracy, newAccuracy - baseAccuracy));
            println(log, "wrote " + listing(out) + " to " + out);
            return Collections.unmodifiableMap(metrics);
        } finally {
            for (Path p : scratch) {
                deleteRecursively(p);
            }
        }
    }

    /**
     * Trains for the configured epochs, logging each one.
     *
     * @return the last epoch's mean loss and the final model's accuracy on the train split
     */
    private static double[] fit(Model model, ModelMetadata metadata, TrainingSet data, TrainingParams params,
            Device device, PrintStream log) {
        InputDecoder decoder = new InputDecoder(metadata.input());
        long[] rowShape = decoder.rowShape();
        DefaultTrainingConfig config = new DefaultTrainingConfig(new CrossEntropy(metadata.output()))
                .optDevices(new Device[] {device})
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed((float) params.learningRate()))
                        .build());
        TrainingSet.Split train = data.train();
        double lastLoss = Double.NaN;
        try (ai.djl.training.Trainer trainer = newTrainer(model, config, rowShape)) {
            Evaluation before = evaluate(model, data.validation(), rowShape, params.batchSize());
            println(log, String.format(Locale.ROOT, "epoch %d/%d  val_acc %.4f (before training)", 0, params.epochs(),
                    before.accuracy()));
            Random shuffle = new Random(params.seed());
            List<Integer> order = new ArrayList<>(train.size());
            for (int i = 0; i < train.size(); i++) {
                order.add(i);
            }
            for (int epoch = 1; epoch <= params.epochs(); epoch++) {
                long started = System.nanoTime();
                Collections.shuffle(order, shuffle);
                double lossSum = 0;
                long correct = 0;
                for (int from = 0; from < order.size(); from += params.batchSize()) {
                    List<Integer> batch = order.subList(from, Math.min(order.size(), from + params.batchSize()));
                    // Every tensor of a step lives in this scope, so nothing of it outlives the step.
                    try (NDManager step = trainer.getManager().newSubManager()) {
                        NDArray x = rows(step, train, batch, rowShape);
                        NDArray y = labels(step, train, batch);
                        try (GradientCollector collector = trainer.newGradientCollector()) {
                            NDArray scores = trainer.forward(new NDList(x)).get(0);
                            NDArray loss = trainer.getLoss().evaluate(new NDList(y), new NDList(scores));
                            collector.backward(loss);
                            lossSum += loss.getFloat() * batch.size();
                            correct += countCorrect(scores, y);
                        }
                        trainer.step();
                    }
                }
                lastLoss = lossSum / train.size();
                if (!Double.isFinite(lastLoss)) {
                    throw new IllegalStateException("training diverged: the loss is " + lastLoss + " in epoch " + epoch
                            + "; lower learning_rate (now " + params.learningRate() + ")");
                }
                Evaluation val = evaluate(model, data.validation(), rowShape, params.batchSize());
                println(log, String.format(Locale.ROOT, "epoch %d/%d  loss %.4f  train_acc %.4f  val_acc %.4f  %.1fs",
                        epoch, params.epochs(), lastLoss, (double) correct / train.size(), val.accuracy(),
                        (System.nanoTime() - started) / 1e9));
            }
        }
        Evaluation trainEval = evaluate(model, train, rowShape, params.batchSize());
        return new double[] {lastLoss, trainEval.accuracy()};
    }

    private static ai.djl.training.Trainer newTrainer(Model model, DefaultTrainingConfig config, long[] rowShape) {
        ai.djl.training.Trainer trainer = null;
        try {
            trainer = model.newTrainer(config);
            // Parameters that are already set (loaded from the base) are kept; this attaches their gradients.
            trainer.initialize(new Shape(batchShape(1, rowShape)));
            return trainer;
        } catch (RuntimeException e) {
            if (trainer != null) {
                trainer.close();
            }
            // Typically a TorchScript module whose weights were saved as inference tensors, which libtorch refuses
            // to make trainable.
            throw new IllegalStateException("the base model's parameters cannot be made trainable: "
                    + DjlLoadedModel.engineMessage(e), e);
        }
    }

    /** Correct predictions on a split, with the model in inference mode. */
    private record Evaluation(long correct, int total) {
        double accuracy() {
            return total == 0 ? 0 : (double) correct / total;
        }
    }

    private static Evaluation evaluate(Model model, TrainingSet.Split split, long[] rowShape, int batchSize) {
        long correct = 0;
        List<Integer> all = new ArrayList<>(split.size());
        for (int i = 0; i < split.size(); i++) {
            all.add(i);
        }
        for (int from = 0; from < all.size(); from += batchSize) {
            List<Integer> batch = all.subList(from, Math.min(all.size(), from + batchSize));
            try (NDManager scope = model.getNDManager().newSubManager()) {
                NDArray x = rows(scope, split, batch, rowShape);
                NDArray y = labels(scope, split, batch);
                NDArray scores = model.getBlock().forward(new ParameterStore(scope, false), new NDList(x), false).get(0);
                correct += countCorrect(scores, y);
            }
        }
        return new Evaluation(correct, split.size());
    }

    private static long countCorrect(NDArray scores, NDArray labels) {
        return scores.argMax(1).toType(labels.getDataType(), false).eq(labels).countNonzero().getLong();
    }

    private static NDArray rows(NDManager manager, TrainingSet.Split split, List<Integer> batch, long[] rowShape) {
        int length = split.rows().get(0).length;
        float[] flat = new float[batch.size() * length];
        for (int i = 0; i < batch.size(); i++) {
            System.arraycopy(split.rows().get(batch.get(i)), 0, flat, i * length, length);
        }
        return manager.create(flat, new Shape(batchShape(batch.size(), rowShape)));
    }

    private static NDArray labels(NDManager manager, TrainingSet.Split split, List<Integer> batch) {
        long[] y = new long[batch.size()];
        for (int i = 0; i < y.length; i++) {
            y[i] = split.labels()[batch.get(i)];
        }
        return manager.create(y);
    }

    private static long[] batchShape(int n, long[] rowShape) {
        long[] shape = new long[rowShape.length + 1];
        shape[0] = n;
        System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
        return shape;
    }

    /** The accuracy of a served model on a split's payloads, decoded exactly as predict requests are. */
    private static double servedAccuracy(LoadedModel model, TrainingSet.Split split) throws Exception {
        List<String> labels = model.metadata().labels();
        long correct = 0;
        for (int from = 0; from < split.size(); from += PREDICT_CHUNK) {
            int to = Math.min(split.size(), from + PREDICT_CHUNK);
            List<ModelInput> chunk = split.inputs().subList(from, to);
            List<ModelOutput> outputs = model.predict(chunk);
            for (int i = 0; i < outputs.size(); i++) {
                if (outputs.get(i).label().equals(labels.get(split.labels()[from + i]))) {
                    correct++;
                }
            }
        }
        return split.size() == 0 ? 0 : (double) correct / split.size();
    }

    private LoadedModel loadForServing(ModelArtifact artifact, String what) {
        try {
            return runtime.load(artifact);
        } catch (InvalidModelException e) {
            throw new IllegalStateException(what + " does not load in the djl runtime: " + e.getMessage(), e);
        }
    }

    /** Opens the base with trainable parameters. */
    private static Model openForTraining(ModelArtifact base, Device device, Engine engine) throws Exception {
        Model model = engine.newModel("fine-tune", device);
        try {
            if (DjlModelRuntime.TORCHSCRIPT.equals(base.metadata().format())) {
                // trainParam loads the module with requires_grad on its parameters (DJL freezes them otherwise);
                // mapLocation moves a module saved on another device onto the training device.
                model.load(base.artifactFile(), null, Map.of("trainParam", "true", "mapLocation", "true"));
            } else {
                Path dir = DjlModelRuntime.modelDirectory(base.artifactFile());
                MlpArchitecture architecture = MlpArchitecture.read(dir.resolve(MlpArchitecture.FILE_NAME));
                DjlModelRuntime.checkWeights(architecture, DjlModelRuntime.hasParams(dir));
                // An untrained base ("initialize") starts from the same fresh weights the runtime served it with.
                DjlModelRuntime.setUpWeights(model, dir, architecture);
            }
            return model;
        } catch (Exception | Error e) {
            model.close();
            throw e;
        }
    }

    /** Writes the trained model in the base's format and returns it as the runtime will load it. */
    private static ModelArtifact save(Model model, ModelArtifact base, Path out, Device device, Engine engine,
            List<Path> scratch) throws Exception {
        ModelMetadata metadata = base.metadata();
        Files.writeString(out.resolve(ModelJson.FILE_NAME), ModelJson.toJson(metadata));
        if (DjlModelRuntime.TORCHSCRIPT.equals(metadata.format())) {
            PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
            // Saved in eval mode, so that a PyTorch user who loads the file gets inference behaviour by default.
            JniUtils.enableInferenceMode(block);
            Path file = out.resolve(TORCHSCRIPT_FILE);
            writeModule(block, file);
            if (!device.equals(Device.cpu())) {
                // The server serves on the CPU and loads without a map location; a module written from a GPU
                // holds CUDA tensors, so it is read back onto the CPU and written again.
                try (Model cpu = engine.newModel("cpu-copy", Device.cpu())) {
                    cpu.load(file, null, Map.of("mapLocation", "true"));
                    writeModule((PtSymbolBlock) cpu.getBlock(), file);
                }
            }
            return new ModelArtifact(out, file, metadata);
        }
        Path source = DjlModelRuntime.modelDirectory(base.artifactFile());
        Path dir = out.resolve(DJL_DIR);
        if (Files.exists(dir)) {
            deleteRecursively(dir);
        }
        Files.createDirectories(dir);
        // The base's network; the weights are now in the params file, so an untrained base's "initialize" is dropped.
        Files.writeString(dir.resolve(MlpArchitecture.FILE_NAME),
                MlpArchitecture.read(source.resolve(MlpArchitecture.FILE_NAME)).trained().toJson());
        // A fixed epoch number: the base's checkpoint number means nothing for the new version.
        model.setProperty("Epoch", "0");
        model.save(dir, DjlModelRuntime.DJL_PARAMS_PREFIX);
        zip(dir, out.resolve(DJL_ZIP));
        return new ModelArtifact(out, dir, metadata);
    }

    private static void writeModule(PtSymbolBlock block, Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp)) {
            // false: TorchScript's own zip format, with no DJL size header, as torch.jit.save writes it.
            JniUtils.writeModule(block, os, false);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void writeMetrics(Path file, Map<String, Double> metrics, Device device) throws IOException {
        JsonObject o = new JsonObject();
        for (Map.Entry<String, Double> e : metrics.entrySet()) {
            double v = e.getValue();
            if (e.getKey().endsWith("_items") || e.getKey().equals("epochs")) {
                o.addProperty(e.getKey(), (long) v);
            } else {
                o.addProperty(e.getKey(), v);
            }
        }
        o.addProperty("device", device.isGpu() ? "gpu" : "cpu");
        Files.writeString(file, o.toString());
    }

    /** Finds the base's metadata and artifact in the job's base model directory. */
    static ModelArtifact locateBase(Path dir, List<Path> scratch) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("the base model directory " + dir + " does not exist");
        }
        ModelMetadata metadata = ModelJson.read(dir.resolve(ModelJson.FILE_NAME));
        if (!"classification".equals(metadata.task())) {
            throw new IllegalArgumentException("the built-in trainer trains classifiers; the base model's task is \""
                    + metadata.task() + "\"");
        }
        switch (metadata.format()) {
            case DjlModelRuntime.TORCHSCRIPT -> {
                Path file = dir.resolve(TORCHSCRIPT_FILE);
                if (!Files.isRegularFile(file)) {
                    List<Path> pts = list(dir, p -> Files.isRegularFile(p) && p.toString().endsWith(".pt"));
                    if (pts.size() != 1) {
                        throw new IllegalArgumentException("the base model directory has no " + TORCHSCRIPT_FILE
                                + (pts.isEmpty() ? "" : " and several .pt files " + pts));
                    }
                    file = pts.get(0);
                }
                return new ModelArtifact(dir, file, metadata);
            }
            case DjlModelRuntime.DJL -> {
                // The server's layout (model.zip unpacked to model/), the files at the top, or only the zip.
                for (Path candidate : List.of(dir, dir.resolve(DJL_DIR))) {
                    if (Files.isDirectory(candidate) && hasArchitecture(candidate)) {
                        return new ModelArtifact(dir, candidate, metadata);
                    }
                }
                List<Path> zips = list(dir, p -> Files.isRegularFile(p) && p.toString().endsWith(".zip"));
                if (zips.size() == 1) {
                    Path unpacked = Files.createTempDirectory("flywheel-base-model");
                    scratch.add(unpacked);
                    unzip(zips.get(0), unpacked);
                    return new ModelArtifact(dir, unpacked, metadata);
                }
                throw new IllegalArgumentException("the base model directory has neither " + MlpArchitecture.FILE_NAME
                        + " (at its top or in " + DJL_DIR + "/) nor one .zip holding it");
            }
            default -> throw new IllegalArgumentException("the built-in trainer fine-tunes \""
                    + DjlModelRuntime.TORCHSCRIPT + "\" and \"" + DjlModelRuntime.DJL + "\" models; the base model's"
                    + " format is \"" + metadata.format() + "\"");
        }
    }

    private static boolean hasArchitecture(Path dir) {
        try {
            DjlModelRuntime.modelDirectory(dir);
            return true;
        } catch (InvalidModelException e) {
            return false;
        }
    }

    private static Device device(String choice, Engine engine) {
        int gpus = engine.getGpuCount();
        return switch (choice) {
            case "cpu" -> Device.cpu();
            case "gpu" -> {
                if (gpus == 0) {
                    throw new IllegalArgumentException("device \"gpu\" was asked for, but DJL sees no GPU on this"
                            + " machine (this plugin bundles libtorch for the CPU); use \"auto\" or \"cpu\"");
                }
                yield Device.gpu();
            }
            default -> gpus > 0 ? Device.gpu() : Device.cpu();
        };
    }

    private static String describe(Device device) {
        return device.isGpu() ? "GPU " + device.getDeviceId() : "CPU (" + Runtime.getRuntime().availableProcessors()
                + " cores)";
    }

    private static String describe(InputSpec input) {
        if (input instanceof InputSpec.Image i) {
            return "image " + i.width() + "x" + i.height() + (i.channels() == 3 ? " RGB" : " grey") + " (mean "
                    + i.mean() + ", std " + i.std() + ")";
        }
        return ((InputSpec.Features) input).size() + " features";
    }

    private static String perLabel(TrainingSet.Split split, ModelMetadata metadata) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String label : metadata.labels()) {
            counts.put(label, 0);
        }
        for (int l : split.labels()) {
            counts.merge(metadata.labels().get(l), 1, Integer::sum);
        }
        return counts.toString();
    }

    private static void println(PrintStream log, String line) {
        log.println(line);
        // The console streams to users while the run is going, so each line goes out as soon as it is written.
        log.flush();
    }

    private static String listing(Path dir) throws IOException {
        return list(dir, p -> true).stream().map(p -> p.getFileName().toString()).sorted().toList().toString();
    }

    private static List<Path> list(Path dir, java.util.function.Predicate<Path> filter) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(filter).sorted().toList();
        }
    }

    private static void zip(Path dir, Path zip) throws IOException {
        try (ZipOutputStream os = new ZipOutputStream(Files.newOutputStream(zip))) {
            for (Path file : list(dir, Files::isRegularFile)) {
                os.putNextEntry(new ZipEntry(file.getFileName().toString()));
                Files.copy(file, os);
                os.closeEntry();
            }
        }
    }

    private static void unzip(Path zip, Path target) throws IOException {
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                Path out = target.resolve(e.getName()).normalize();
                if (!out.startsWith(target)) {
                    throw new IllegalArgumentException("the base model's zip entry " + e.getName()
                            + " points outside the archive");
                }
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /**
     * Softmax cross-entropy against integer class labels, for a model that emits logits or one that already ends
     * in softmax (then the log of its output, floored so that a confident mistake still has a gradient).
     */
    private static final class CrossEntropy extends Loss {
        private final boolean probabilities;

        CrossEntropy(ModelMetadata.OutputKind output) {
            super("cross_entropy");
            this.probabilities = output == ModelMetadata.OutputKind.PROBABILITIES;
        }

        @Override
        public NDArray evaluate(NDList labels, NDList predictions) {
            NDArray scores = predictions.get(0);
            NDArray logProbabilities = probabilities ? scores.add(LOG_EPSILON).log() : scores.logSoftmax(1);
            NDArray oneHot = labels.singletonOrThrow().oneHot((int) scores.getShape().get(1));
            return logProbabilities.mul(oneHot).sum(new int[] {1}).neg().mean();
        }
    }
}
