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
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "djl" format: an MLP trained here with DJL, the way the built-in trainer will, saved as
 * {@code architecture.json} + {@code model-0000.params}, then loaded through the runtime.
 */
class DjlFormatTest {

    private static final List<String> LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");
    private static final MlpArchitecture ARCHITECTURE = new MlpArchitecture(4, List.of(16), 3, "relu");

    private static DjlModelRuntime runtime;

    @TempDir
    static Path trained;

    @BeforeAll
    static void trainAndSave() throws Exception {
        runtime = new DjlModelRuntime(8, Duration.ofMillis(1), System.getLogger("test"));
        List<Fixtures.Sample> samples = Fixtures.featureSamples();
        // Blobs around the first three samples (the class centres of the fixture), as in make_models.py.
        int perClass = 100;
        float[] x = new float[3 * perClass * 4];
        float[] y = new float[3 * perClass];
        Random random = new Random(5);
        for (int c = 0; c < 3; c++) {
            float[] centre = samples.get(c).features();
            assertThat(samples.get(c).label()).isEqualTo(LABELS.get(c));
            for (int i = 0; i < perClass; i++) {
                int row = c * perClass + i;
                for (int f = 0; f < 4; f++) {
                    x[row * 4 + f] = centre[f] + (float) random.nextGaussian() * 0.25f;
                }
                y[row] = c;
            }
        }
        // Seeds libtorch's generator, which DJL's weight initialisers draw from: the same model every run.
        PyTorchEngine.get().setRandomSeed(3);
        try (Model model = Model.newInstance("mlp", Device.cpu(), "PyTorch")) {
            model.setBlock(ARCHITECTURE.newBlock());
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.02f)).build());
            try (Trainer trainer = model.newTrainer(config); NDManager m = model.getNDManager().newSubManager()) {
                trainer.initialize(new Shape(1, 4));
                NDArray features = m.create(x, new Shape(y.length, 4));
                NDArray labels = m.create(y, new Shape(y.length));
                for (int step = 0; step < 800; step++) {
                    try (GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray logits = trainer.forward(new NDList(features)).singletonOrThrow();
                        gc.backward(trainer.getLoss().evaluate(new NDList(labels), new NDList(logits)));
                    }
                    trainer.step();
                }
            }
            model.save(trained, DjlModelRuntime.DJL_PARAMS_PREFIX);
        }
        Files.writeString(trained.resolve(MlpArchitecture.FILE_NAME), ARCHITECTURE.toJson());
        assertThat(trained.resolve("model-0000.params")).exists();
    }

    @AfterAll
    static void close() {
        runtime.close();
    }

    private static ModelMetadata metadata(List<String> labels, int size) {
        return new ModelMetadata("djl", "classification", labels, new InputSpec.Features(size),
                ModelMetadata.OutputKind.LOGITS);
    }

    @Test
    void architectureJsonIsTheDocumentedSpec() throws Exception {
        assertThat(Files.readString(trained.resolve("architecture.json")))
                .isEqualTo("{\"type\":\"mlp\",\"input_size\":4,\"hidden\":[16],\"classes\":3,\"activation\":\"relu\"}");
        assertThat(MlpArchitecture.read(trained.resolve("architecture.json"))).isEqualTo(ARCHITECTURE);
    }

    @Test
    void trainedMlpPredictsTheSamples() throws Exception {
        try (LoadedModel model = runtime.load(new ModelArtifact(trained, trained, metadata(LABELS, 4)))) {
            for (Fixtures.Sample s : Fixtures.featureSamples()) {
                assertThat(model.predict(List.of(new ModelInput.Features(s.features()))).get(0).label())
                        .isEqualTo(s.label());
            }
        }
    }

    @Test
    void modelInASingleSubfolderOfTheZipIsFound(@TempDir Path unpacked) throws Exception {
        Path inner = Files.createDirectories(unpacked.resolve("my-model"));
        for (String f : List.of("architecture.json", "model-0000.params")) {
            Files.copy(trained.resolve(f), inner.resolve(f));
        }
        try (LoadedModel model = runtime.load(new ModelArtifact(unpacked, unpacked, metadata(LABELS, 4)))) {
            Fixtures.Sample s = Fixtures.featureSamples().get(2);
            assertThat(model.predict(List.of(new ModelInput.Features(s.features()))).get(0).label()).isEqualTo(s.label());
        }
    }

    @Test
    void mismatchesWithModelJsonAreInvalidModel() {
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(trained, trained, metadata(List.of("a", "b"), 4))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("3 classes but model.json has 2 labels");
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(trained, trained, metadata(LABELS, 5))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("input_size 4");
    }

    @Test
    void paramsThatDoNotFitTheArchitectureAreInvalidModel(@TempDir Path dir) throws Exception {
        Files.copy(trained.resolve("model-0000.params"), dir.resolve("model-0000.params"));
        Files.writeString(dir.resolve("architecture.json"),
                new MlpArchitecture(4, List.of(16, 8), 3, "relu").toJson());
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(dir, dir, metadata(LABELS, 4))))
                .isInstanceOf(InvalidModelException.class);
    }

    @Test
    void badArchitectureSpecsAreInvalidModel(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("architecture.json");
        Files.copy(trained.resolve("model-0000.params"), dir.resolve("model-0000.params"));
        ModelArtifact artifact = new ModelArtifact(dir, dir, metadata(LABELS, 4));

        Files.writeString(spec, "{\"type\":\"resnet\"}");
        assertThatThrownBy(() -> runtime.load(artifact)).hasMessageContaining("\"type\" must be \"mlp\"");
        Files.writeString(spec, "{\"type\":\"mlp\",\"input_size\":4,\"hidden\":[0],\"classes\":3}");
        assertThatThrownBy(() -> runtime.load(artifact)).hasMessageContaining("\"hidden\" must be a positive whole number");
        Files.writeString(spec, "{\"type\":\"mlp\",\"input_size\":4,\"classes\":3,\"activation\":\"swish\"}");
        assertThatThrownBy(() -> runtime.load(artifact)).hasMessageContaining("activation must be one of");
        Files.writeString(spec, "not json {");
        assertThatThrownBy(() -> runtime.load(artifact)).isInstanceOf(InvalidModelException.class);
        Files.delete(spec);
        assertThatThrownBy(() -> runtime.load(artifact)).hasMessageContaining("no architecture.json");
    }

    @Test
    void anUntrainedModelLoadsWithWeightsDrawnFromItsSeed(@TempDir Path tmp) throws Exception {
        Path a = untrained(tmp.resolve("a"), 7);
        Path b = untrained(tmp.resolve("b"), 7);
        Path c = untrained(tmp.resolve("c"), 8);
        assertThat(Files.readString(a.resolve("architecture.json"))).isEqualTo("{\"type\":\"mlp\",\"input_size\":4,"
                + "\"hidden\":[16],\"classes\":3,\"activation\":\"relu\",\"initialize\":{\"seed\":7}}");
        ModelInput input = new ModelInput.Features(Fixtures.featureSamples().get(1).features());
        Map<String, Double> first;
        Map<String, Double> again;
        Map<String, Double> other;
        // Loaded one after the other and side by side: the weights do not depend on libtorch's shared generator.
        try (LoadedModel m1 = runtime.load(new ModelArtifact(a, a, metadata(LABELS, 4)));
                LoadedModel m3 = runtime.load(new ModelArtifact(c, c, metadata(LABELS, 4)))) {
            first = m1.predict(List.of(input)).get(0).scores();
            other = m3.predict(List.of(input)).get(0).scores();
        }
        try (LoadedModel m2 = runtime.load(new ModelArtifact(b, b, metadata(LABELS, 4)))) {
            again = m2.predict(List.of(input)).get(0).scores();
        }
        assertThat(first).hasSize(3).isEqualTo(again).isNotEqualTo(other);
        // Fresh weights, not a trained model: the scores are not those of the trained one.
        try (LoadedModel trainedModel = runtime.load(new ModelArtifact(trained, trained, metadata(LABELS, 4)))) {
            assertThat(trainedModel.predict(List.of(input)).get(0).scores()).isNotEqualTo(first);
        }
    }

    @Test
    void anUntrainedModelStillGetsTheUploadChecks(@TempDir Path tmp) throws Exception {
        Path dir = untrained(tmp, 7);
        // The dry run and the spec checks run as for a trained model.
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(dir, dir, metadata(List.of("a", "b"), 4))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("3 classes but model.json has 2 labels");
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(dir, dir, metadata(LABELS, 5))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("input_size 4");
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(dir, dir, new ModelMetadata("djl", "classification",
                LABELS, new InputSpec.Features(4), ModelMetadata.OutputKind.PROBABILITIES))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("probabilities");
    }

    @Test
    void weightsComeFromExactlyOnePlace(@TempDir Path tmp) throws Exception {
        ModelMetadata metadata = metadata(LABELS, 4);
        // Neither params nor "initialize": refused as before.
        Path none = Files.createDirectories(tmp.resolve("none"));
        Files.writeString(none.resolve("architecture.json"), ARCHITECTURE.toJson());
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(none, none, metadata)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("no model-NNNN.params file next to architecture.json");
        // Both: ambiguous, refused.
        Path both = untrained(tmp.resolve("both"), 7);
        Files.copy(trained.resolve("model-0000.params"), both.resolve("model-0000.params"));
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(both, both, metadata)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("asks for fresh weights (\"initialize\") but there is a model-NNNN.params file");
        // A malformed "initialize".
        Path bad = Files.createDirectories(tmp.resolve("bad"));
        Path spec = bad.resolve("architecture.json");
        for (String init : List.of("true", "{}", "{\"seed\": 1.5}", "{\"seed\": \"7\"}", "{\"seed\": 7, \"scheme\": \"he\"}")) {
            Files.writeString(spec, "{\"type\":\"mlp\",\"input_size\":4,\"classes\":3,\"initialize\":" + init + "}");
            assertThatThrownBy(() -> runtime.load(new ModelArtifact(bad, bad, metadata))).as(init)
                    .isInstanceOf(InvalidModelException.class)
                    .hasMessageContaining("\"initialize\" must be {\"seed\": <a whole number>}");
        }
    }

    /** An untrained model directory: only architecture.json, asking for weights from {@code seed}. */
    private static Path untrained(Path dir, long seed) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(MlpArchitecture.FILE_NAME), new MlpArchitecture(4, List.of(16), 3, "relu", seed)
                .toJson());
        return dir;
    }

    @Test
    void aSingleFileIsNotADjlModel() {
        Path file = trained.resolve("model-0000.params");
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(trained, file, metadata(LABELS, 4))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("got a single file");
    }
}
