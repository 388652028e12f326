package dev.flywheel.plugins.runtime.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import dev.flywheel.spi.runtime.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in trainer on data from a shifted world: the fine-tuned model must beat its base on the same
 * validation set, be written in the base's format, and load and predict through the runtime.
 */
class DjlTrainerTest {

    private static DjlModelRuntime runtime;
    private static Trainer trainer;

    @BeforeAll
    static void start() {
        runtime = new DjlModelRuntime(32, Duration.ZERO, System.getLogger("test"));
        trainer = runtime.trainer().orElseThrow();
    }

    @AfterAll
    static void close() {
        runtime.close();
    }

    /** A run's metrics and console. */
    private record Run(Map<String, Double> metrics, String log) {}

    private static Run train(Path dataset, Path base, Path out, Map<String, Object> params) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (PrintStream log = new PrintStream(console, true, StandardCharsets.UTF_8)) {
            Map<String, Double> metrics;
            try {
                metrics = trainer.train(new Trainer.TrainingJob(dataset, base, out, params), log);
            } finally {
                // Shown in the surefire report, so that the numbers of a run can be read after the build.
                System.out.println("--- " + out.getFileName() + "\n" + console.toString(StandardCharsets.UTF_8));
            }
            return new Run(metrics, console.toString(StandardCharsets.UTF_8));
        }
    }

    private static ModelArtifact output(Path out) {
        ModelMetadata metadata = Fixtures.metadata(out.resolve("model.json"));
        Path artifact = metadata.format().equals("djl") ? out.resolve("model") : out.resolve("model.pt");
        return new ModelArtifact(out, artifact, metadata);
    }

    private static JsonObject metricsJson(Path out) throws Exception {
        return JsonParser.parseString(Files.readString(out.resolve("metrics.json"))).getAsJsonObject();
    }

    @Test
    void fineTunesTheTorchScriptFeatureModelOnAShiftedDistribution(@TempDir Path tmp) throws Exception {
        float[][] shifted = Datasets.shiftedCentres();
        Path dataset = Datasets.write(tmp.resolve("dataset"), Datasets.featureItems(shifted, 60, 30, 1));
        Path out = tmp.resolve("out");

        Run run = train(dataset, Fixtures.FEATURES, out, Map.of());

        Map<String, Double> m = run.metrics();
        assertThat(m.get("base_val_accuracy")).isLessThanOrEqualTo(0.6);
        assertThat(m.get("val_accuracy")).isGreaterThanOrEqualTo(0.9)
                .isGreaterThan(m.get("base_val_accuracy") + 0.15);
        assertThat(m.get("train_accuracy")).isGreaterThanOrEqualTo(0.9);
        assertThat(m).containsEntry("train_items", 180.0).containsEntry("validation_items", 90.0)
                .containsEntry("epochs", 20.0);

        // Still TorchScript, with the base's metadata.
        assertThat(out.resolve("model.pt")).isRegularFile();
        ModelArtifact artifact = output(out);
        assertThat(artifact.metadata()).isEqualTo(Fixtures.artifact(Fixtures.FEATURES).metadata());

        JsonObject json = metricsJson(out);
        assertThat(json.get("val_accuracy").getAsDouble()).isEqualTo(m.get("val_accuracy"));
        assertThat(json.get("base_val_accuracy").getAsDouble()).isEqualTo(m.get("base_val_accuracy"));
        assertThat(json.get("train_items").getAsJsonPrimitive().isNumber()).isTrue();
        assertThat(json.get("device").getAsString()).isEqualTo("cpu");

        try (LoadedModel model = runtime.load(artifact);
                LoadedModel original = runtime.load(Fixtures.artifact(Fixtures.FEATURES))) {
            for (int c = 0; c < 3; c++) {
                ModelInput centre = new ModelInput.Features(shifted[c]);
                assertThat(model.predict(List.of(centre)).get(0).label()).isEqualTo(Datasets.FEATURE_LABELS.get(c));
            }
            // The shifted first two classes are what the base calls by the next class's name.
            assertThat(original.predict(List.of(new ModelInput.Features(shifted[0]))).get(0).label())
                    .isNotEqualTo(Datasets.FEATURE_LABELS.get(0));
        }
        assertThat(run.log()).contains("epoch 20/20", "base model validation accuracy");
    }

    @Test
    void fineTunesTheTorchScriptImageModelOnRotatedColours(@TempDir Path tmp) throws Exception {
        Path dataset = Datasets.write(tmp.resolve("dataset"), Datasets.rotatedColourImages(50, 20, 2));
        Path out = tmp.resolve("out");

        Run run = train(dataset, Fixtures.IMAGE, out, Map.of("epochs", 15));

        Map<String, Double> m = run.metrics();
        assertThat(m.get("base_val_accuracy")).isLessThanOrEqualTo(0.6);
        assertThat(m.get("val_accuracy")).isGreaterThanOrEqualTo(0.9)
                .isGreaterThan(m.get("base_val_accuracy") + 0.3);
        ModelArtifact artifact = output(out);
        assertThat(artifact.metadata()).isEqualTo(Fixtures.artifact(Fixtures.IMAGE).metadata());
        assertThat(artifact.metadata().output()).isEqualTo(ModelMetadata.OutputKind.PROBABILITIES);
        try (LoadedModel model = runtime.load(artifact)) {
            // A blue thing through the rotated camera is red-looking; a red thing is green-looking.
            assertThat(model.predict(List.of(new ModelInput.Image(Images.png(16, 16, 0xE02020), "image/png")))
                    .get(0).label()).isEqualTo("blue");
            assertThat(model.predict(List.of(new ModelInput.Image(Images.png(16, 16, 0x20E020), "image/png")))
                    .get(0).label()).isEqualTo("red");
        }
    }

    @Test
    void fineTunesADjlFormatBaseAndKeepsTheFormat(@TempDir Path tmp) throws Exception {
        Path base = djlBase(tmp.resolve("base"));
        Path dataset = Datasets.write(tmp.resolve("dataset"), Datasets.featureItems(Datasets.shiftedCentres(), 40,
                20, 3));
        Path out = tmp.resolve("out");

        Run run = train(dataset, base, out, Map.of("epochs", 20, "learning_rate", 0.02));

        Map<String, Double> m = run.metrics();
        assertThat(m.get("base_val_accuracy")).isLessThanOrEqualTo(0.6);
        assertThat(m.get("val_accuracy")).isGreaterThanOrEqualTo(0.9)
                .isGreaterThan(m.get("base_val_accuracy") + 0.15);
        assertThat(out.resolve("model.zip")).isRegularFile();
        assertThat(out.resolve("model/architecture.json")).hasContent(
                "{\"type\":\"mlp\",\"input_size\":4,\"hidden\":[16],\"classes\":3,\"activation\":\"relu\"}");
        assertThat(out.resolve("model/model-0000.params")).isRegularFile();
        ModelArtifact artifact = output(out);
        assertThat(artifact.metadata().format()).isEqualTo("djl");
        try (LoadedModel model = runtime.load(artifact)) {
            float[][] shifted = Datasets.shiftedCentres();
            for (int c = 0; c < 3; c++) {
                assertThat(model.predict(List.of(new ModelInput.Features(shifted[c]))).get(0).label())
                        .isEqualTo(Datasets.FEATURE_LABELS.get(c));
            }
        }
        // Fine-tuning starts from the base's weights, not from a fresh initialisation.
        assertThat(run.log()).contains(String.format(java.util.Locale.ROOT, "val_acc %.4f (before training)",
                m.get("base_val_accuracy")));
    }

    @Test
    void trainsAnUntrainedDjlModelFromItsInitialisedWeights(@TempDir Path tmp) throws Exception {
        Path base = untrainedBase(tmp.resolve("base"), new MlpArchitecture(4, List.of(16), 3, "relu", 7L),
                new InputSpec.Features(4), Datasets.FEATURE_LABELS);
        Path dataset = Datasets.write(tmp.resolve("dataset"), Datasets.featureItems(Datasets.CENTRES, 40, 20, 5));
        Path out = tmp.resolve("out");

        Run run = train(dataset, base, out, Map.of("epochs", 30, "learning_rate", 0.02));

        Map<String, Double> m = run.metrics();
        assertThat(m.get("val_accuracy")).isGreaterThanOrEqualTo(0.95).isGreaterThan(m.get("base_val_accuracy") + 0.3);
        // Training starts from the weights the runtime served the untrained version with.
        assertThat(run.log()).contains(String.format(java.util.Locale.ROOT, "val_acc %.4f (before training)",
                m.get("base_val_accuracy")));
        // A normal trained version: the params file, and a spec without "initialize".
        assertThat(out.resolve("model/model-0000.params")).isRegularFile();
        assertThat(out.resolve("model/architecture.json")).hasContent(
                "{\"type\":\"mlp\",\"input_size\":4,\"hidden\":[16],\"classes\":3,\"activation\":\"relu\"}");
        assertThat(zipEntries(out.resolve("model.zip"))).containsExactlyInAnyOrder("architecture.json",
                "model-0000.params");
        try (LoadedModel model = runtime.load(output(out))) {
            for (int c = 0; c < 3; c++) {
                assertThat(model.predict(List.of(new ModelInput.Features(Datasets.CENTRES[c]))).get(0).label())
                        .isEqualTo(Datasets.FEATURE_LABELS.get(c));
            }
        }
    }

    @Test
    void trainsAnUntrainedImageMlp(@TempDir Path tmp) throws Exception {
        InputSpec image = new InputSpec.Image(16, 16, 3, List.of(0.5, 0.5, 0.5), List.of(0.25, 0.25, 0.25));
        Path base = untrainedBase(tmp.resolve("base"), new MlpArchitecture(3 * 16 * 16, List.of(32), 2, "relu", 3L),
                image, Datasets.IMAGE_LABELS);
        Path dataset = Datasets.write(tmp.resolve("dataset"), Datasets.rotatedColourImages(40, 20, 6));
        Path out = tmp.resolve("out");

        Run run = train(dataset, base, out, Map.of("epochs", 15, "learning_rate", 0.005));

        Map<String, Double> m = run.metrics();
        assertThat(m.get("val_accuracy")).isGreaterThanOrEqualTo(0.9);
        try (LoadedModel model = runtime.load(output(out))) {
            // Through the rotated camera of this data set a blue thing looks red.
            assertThat(model.predict(List.of(new ModelInput.Image(Images.png(16, 16, 0xE02020), "image/png")))
                    .get(0).label()).isEqualTo("blue");
        }
    }

    /** A base version as the server keeps an upload of an untrained DJL model: model.json and model.zip. */
    private static Path untrainedBase(Path dir, MlpArchitecture architecture, InputSpec input, List<String> labels)
            throws Exception {
        Files.createDirectories(dir);
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(dir.resolve("model.zip")))) {
            zip.putNextEntry(new ZipEntry(MlpArchitecture.FILE_NAME));
            zip.write(architecture.toJson().getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        }
        Files.writeString(dir.resolve("model.json"), ModelJson.toJson(new ModelMetadata("djl", "classification",
                labels, input, ModelMetadata.OutputKind.LOGITS)));
        return dir;
    }

    private static List<String> zipEntries(Path zip) throws Exception {
        List<String> names = new ArrayList<>();
        try (var in = new java.util.zip.ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                names.add(e.getName());
            }
        }
        return names;
    }

    @Test
    void sameSeedSameResultOnTheCpu(@TempDir Path tmp) throws Exception {
        Path dataset = Datasets.write(tmp.resolve("dataset"), Datasets.featureItems(Datasets.shiftedCentres(), 20,
                10, 4));
        Map<String, Object> params = Map.of("epochs", 3, "seed", 7, "batch_size", 8);
        Run first = train(dataset, Fixtures.FEATURES, tmp.resolve("a"), params);
        Run second = train(dataset, Fixtures.FEATURES, tmp.resolve("b"), params);
        assertThat(second.metrics()).isEqualTo(first.metrics());
        assertThat(Files.readAllBytes(tmp.resolve("b/model.pt"))).isEqualTo(Files.readAllBytes(tmp.resolve(
                "a/model.pt")));
    }

    @Test
    void withoutAValidationSplitItHoldsOutTwentyPercentOfTrain(@TempDir Path tmp) throws Exception {
        List<Datasets.Item> items = new ArrayList<>();
        for (Datasets.Item i : Datasets.featureItems(Datasets.CENTRES, 10, 0, 5)) {
            items.add(i);
        }
        Path dataset = Datasets.write(tmp.resolve("dataset"), items);
        Path out = tmp.resolve("out");
        Run run = train(dataset, Fixtures.FEATURES, out, Map.of("epochs", 1));
        assertThat(run.log()).contains("no validation split: holding out 6 of 30 train items");
        assertThat(run.metrics()).containsEntry("train_items", 24.0).containsEntry("validation_items", 6.0);
        assertThat(metricsJson(out).get("validation_items").getAsInt()).isEqualTo(6);
    }

    @Test
    void anEmptyTrainSplitFails(@TempDir Path tmp) {
        Path dataset = Datasets.write(tmp.resolve("dataset"), Datasets.featureItems(Datasets.CENTRES, 0, 3, 6));
        assertThatThrownBy(() -> train(dataset, Fixtures.FEATURES, tmp.resolve("out"), Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("train split is empty");
    }

    @Test
    void aLabelTheBaseLacksFailsUnlessAllowed(@TempDir Path tmp) throws Exception {
        List<Datasets.Item> items = new ArrayList<>(Datasets.featureItems(Datasets.CENTRES, 5, 2, 7));
        items.add(new Datasets.Item("new-1", Datasets.features(1, 2, 3, 4), "application/json", "orchid", "train"));
        Path dataset = Datasets.write(tmp.resolve("dataset"), items);
        assertThatThrownBy(() -> train(dataset, Fixtures.FEATURES, tmp.resolve("out"), Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("item new-1")
                .hasMessageContaining("\"orchid\", which the base model does not have")
                .hasMessageContaining("allow_new_labels");

        Run run = train(dataset, Fixtures.FEATURES, tmp.resolve("out2"), Map.of("allow_new_labels", true,
                "epochs", 1));
        assertThat(run.log()).contains("skipped items whose label the base model does not have", "orchid=1");
        assertThat(run.metrics()).containsEntry("train_items", 15.0);
        assertThat(Fixtures.metadata(tmp.resolve("out2/model.json")).labels()).isEqualTo(Datasets.FEATURE_LABELS);
    }

    @Test
    void unreadableAndUndecodableAssetsFailNamingTheItem(@TempDir Path tmp) throws Exception {
        List<Datasets.Item> missing = new ArrayList<>(Datasets.featureItems(Datasets.CENTRES, 2, 1, 8));
        missing.add(new Datasets.Item("gone", null, "application/json", "setosa-like", "train"));
        Path d1 = Datasets.write(tmp.resolve("d1"), missing);
        assertThatThrownBy(() -> train(d1, Fixtures.FEATURES, tmp.resolve("o1"), Map.of()))
                .hasMessageContaining("item gone")
                .hasMessageContaining("cannot read the asset assets/gone.json");

        List<Datasets.Item> shortRow = new ArrayList<>(Datasets.featureItems(Datasets.CENTRES, 2, 1, 9));
        shortRow.add(new Datasets.Item("short", Datasets.features(1, 2, 3), "application/json", "setosa-like",
                "validation"));
        Path d2 = Datasets.write(tmp.resolve("d2"), shortRow);
        assertThatThrownBy(() -> train(d2, Fixtures.FEATURES, tmp.resolve("o2"), Map.of()))
                .hasMessageContaining("item short")
                .hasMessageContaining("expected 4 features, got 3");

        List<Datasets.Item> images = new ArrayList<>(Datasets.rotatedColourImages(2, 1, 10));
        images.add(new Datasets.Item("broken", new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2},
                "image/png", "red", "train"));
        Path d3 = Datasets.write(tmp.resolve("d3"), images);
        assertThatThrownBy(() -> train(d3, Fixtures.IMAGE, tmp.resolve("o3"), Map.of()))
                .hasMessageContaining("item broken")
                .hasMessageContaining("not an input this model takes");
    }

    @Test
    void badParametersFailBeforeAnyWork(@TempDir Path tmp) {
        Path dataset = tmp.resolve("does-not-matter");
        assertThatThrownBy(() -> train(dataset, Fixtures.FEATURES, tmp.resolve("o"), Map.of("epochs", 0)))
                .hasMessageContaining("epochs must be between 1 and 10000");
        assertThatThrownBy(() -> train(dataset, Fixtures.FEATURES, tmp.resolve("o"), Map.of("learning_rte", 0.1)))
                .hasMessageContaining("unknown training parameter(s) [learning_rte]");
        assertThatThrownBy(() -> train(dataset, Fixtures.FEATURES, tmp.resolve("o"), Map.of("learning_rate", "fast")))
                .hasMessageContaining("learning_rate must be a number");
        assertThatThrownBy(() -> train(dataset, Fixtures.FEATURES, tmp.resolve("o"), Map.of("device", "tpu")))
                .hasMessageContaining("device must be one of [auto, cpu, gpu]");
        assertThatThrownBy(() -> train(dataset, Fixtures.FEATURES, tmp.resolve("o"), Map.of("batch_size", 2.5)))
                .hasMessageContaining("batch_size must be a whole number");
        assertThat(TrainingParams.parse(Map.of("epochs", "5", "learning_rate", "0.1", "allow_new_labels", "true")))
                .isEqualTo(new TrainingParams(5, 0.1, 32, 42, "auto", true));
        assertThat(TrainingParams.parse(null)).isEqualTo(TrainingParams.DEFAULTS);
    }

    @Test
    void aBaseModelInAnotherFormatIsRefused(@TempDir Path tmp) throws Exception {
        Path base = Files.createDirectories(tmp.resolve("base"));
        Files.writeString(base.resolve("model.json"), "{\"format\":\"onnx\",\"task\":\"classification\","
                + "\"labels\":[\"a\",\"b\"],\"input\":{\"kind\":\"features\",\"size\":2},\"output\":\"logits\"}");
        assertThatThrownBy(() -> train(tmp, base, tmp.resolve("o"), Map.of()))
                .hasMessageContaining("fine-tunes \"torchscript\" and \"djl\" models")
                .hasMessageContaining("\"onnx\"");
    }

    /**
     * A djl-format base as the job wrapper may hand it over: model.json and model.zip only. The MLP is trained
     * on the original (unshifted) blobs, as DjlFormatTest does.
     */
    private static Path djlBase(Path dir) throws Exception {
        MlpArchitecture architecture = new MlpArchitecture(4, List.of(16), 3, "relu");
        List<Datasets.Item> items = Datasets.featureItems(Datasets.CENTRES, 50, 0, 11);
        float[] x = new float[items.size() * 4];
        float[] y = new float[items.size()];
        Random random = new Random(12);
        for (int i = 0; i < items.size(); i++) {
            int c = i / 50;
            for (int f = 0; f < 4; f++) {
                x[i * 4 + f] = Datasets.CENTRES[c][f] + (float) random.nextGaussian() * 0.25f;
            }
            y[i] = c;
        }
        // Written beside the base directory, which ends up holding only model.json and model.zip.
        Path files = Files.createDirectories(dir.resolveSibling(dir.getFileName() + "-files"));
        Files.createDirectories(dir);
        PyTorchEngine.get().setRandomSeed(3);
        try (Model model = Model.newInstance("mlp", Device.cpu(), "PyTorch")) {
            model.setBlock(architecture.newBlock());
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.02f)).build());
            try (ai.djl.training.Trainer t = model.newTrainer(config); NDManager m = model.getNDManager()
                    .newSubManager()) {
                t.initialize(new Shape(1, 4));
                NDArray features = m.create(x, new Shape(y.length, 4));
                NDArray labels = m.create(y, new Shape(y.length));
                for (int step = 0; step < 300; step++) {
                    try (GradientCollector gc = t.newGradientCollector()) {
                        NDArray logits = t.forward(new NDList(features)).singletonOrThrow();
                        gc.backward(t.getLoss().evaluate(new NDList(labels), new NDList(logits)));
                    }
                    t.step();
                }
            }
            model.save(files, DjlModelRuntime.DJL_PARAMS_PREFIX);
        }
        Files.writeString(files.resolve(MlpArchitecture.FILE_NAME), architecture.toJson());
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(dir.resolve("model.zip")))) {
            for (String name : List.of(MlpArchitecture.FILE_NAME, "model-0000.params")) {
                zip.putNextEntry(new ZipEntry(name));
                Files.copy(files.resolve(name), zip);
                zip.closeEntry();
            }
        }
        ModelMetadata metadata = new ModelMetadata("djl", "classification", Datasets.FEATURE_LABELS,
                new InputSpec.Features(4), ModelMetadata.OutputKind.LOGITS);
        Files.writeString(dir.resolve("model.json"), ModelJson.toJson(metadata));
        return dir;
    }
}
