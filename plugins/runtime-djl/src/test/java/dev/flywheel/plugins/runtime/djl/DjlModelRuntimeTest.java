package dev.flywheel.plugins.runtime.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.flywheel.spi.runtime.InvalidInputException;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import dev.flywheel.spi.runtime.ModelOutput;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DjlModelRuntimeTest {

    private static DjlModelRuntime runtime;
    private static LoadedModel features;
    private static LoadedModel image;

    @TempDir
    Path tmp;

    @BeforeAll
    static void loadFixtures() throws Exception {
        runtime = new DjlModelRuntime(32, Duration.ofMillis(2), System.getLogger("test"));
        features = runtime.load(Fixtures.artifact(Fixtures.FEATURES));
        image = runtime.load(Fixtures.artifact(Fixtures.IMAGE));
    }

    @AfterAll
    static void closeRuntime() {
        features.close();
        image.close();
        runtime.close();
    }

    @Test
    void formatsAreTorchScriptAndDjl() {
        assertThat(runtime.formats()).containsExactlyInAnyOrder("torchscript", "djl");
    }

    @Test
    void featureSamplesGetTheirLabels() throws Exception {
        List<Fixtures.Sample> samples = Fixtures.featureSamples();
        assertThat(samples).hasSizeGreaterThanOrEqualTo(3);
        List<ModelInput> inputs = new ArrayList<>();
        samples.forEach(s -> inputs.add(new ModelInput.Features(s.features())));

        List<ModelOutput> outputs = features.predict(inputs);

        assertThat(outputs).hasSameSizeAs(samples);
        for (int i = 0; i < samples.size(); i++) {
            ModelOutput out = outputs.get(i);
            assertThat(out.label()).as("sample %d", i).isEqualTo(samples.get(i).label());
            assertThat(out.scores()).containsOnlyKeys("setosa-like", "versicolor-like", "virginica-like");
            assertThat(List.copyOf(out.scores().keySet()))
                    .containsExactly("setosa-like", "versicolor-like", "virginica-like");
            // Logits went through softmax: a probability distribution whose top is the confidence.
            assertThat(out.scores().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0, within(1e-6));
            assertThat(out.scores().values()).allSatisfy(p -> assertThat(p).isBetween(0.0, 1.0));
            assertThat(out.confidence()).isEqualTo(out.scores().get(out.label()));
            assertThat(out.confidence()).isGreaterThan(0.5);
        }
    }

    @Test
    void imagesGetTheirColours() throws Exception {
        List<ModelOutput> out = image.predict(List.of(
                Fixtures.image("red.png"), Fixtures.image("blue.png"), Fixtures.image("red.jpg")));

        assertThat(out).extracting(ModelOutput::label).containsExactly("red", "blue", "red");
        assertThat(out).allSatisfy(o -> {
            assertThat(o.confidence()).isGreaterThan(0.9);
            assertThat(o.scores().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0, within(1e-4));
        });
    }

    @Test
    void imagesOfAnySizeAreResized() throws Exception {
        // The samples are 32x32 for a 16x16 model; this one is 7x5, so the resize also enlarges.
        byte[] png = Images.png(7, 5, 0x2040e0);
        assertThat(image.predict(List.of(new ModelInput.Image(png, "image/png"))).get(0).label()).isEqualTo("blue");
        byte[] big = Images.png(300, 200, 0xe03020);
        assertThat(image.predict(List.of(new ModelInput.Image(big, "image/png"))).get(0).label()).isEqualTo("red");
    }

    @Test
    void wrongFeatureCountIsInvalidInput() {
        assertThatThrownBy(() -> features.predict(List.of(new ModelInput.Features(new float[] {1, 2, 3}))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessage("expected 4 features, got 3");
    }

    @Test
    void badInputAmongSeveralIsNamedByIndexAndNothingIsPredicted() {
        List<ModelInput> inputs = List.of(
                new ModelInput.Features(new float[] {5f, 3.4f, 1.5f, 0.2f}),
                new ModelInput.Features(new float[] {5f, Float.NaN, 1.5f, 0.2f}));
        long passesBefore = ((DjlLoadedModel) features).batchStats().forwardPasses();

        assertThatThrownBy(() -> features.predict(inputs))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("input 1")
                .hasMessageContaining("NaN");
        assertThat(((DjlLoadedModel) features).batchStats().forwardPasses()).isEqualTo(passesBefore);
    }

    @Test
    void infiniteFeaturesAreInvalidInput() {
        assertThatThrownBy(() -> features.predict(
                List.of(new ModelInput.Features(new float[] {5f, Float.POSITIVE_INFINITY, 1.5f, 0.2f}))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("feature 1 is Infinity");
    }

    @Test
    void featuresTooLargeForTheModelsArithmeticAreInvalidInputNotAPluginFailure() throws Exception {
        // Finite floats, but the first layer overflows to infinity and the scores to NaN: the caller's input is at
        // fault. Large values the model can still compute with get an answer.
        var extreme = new ModelInput.Features(new float[] {3.4e38f, 3.4e38f, 3.4e38f, 3.4e38f});
        assertThatThrownBy(() -> features.predict(List.of(extreme)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("too large for the model to compute with");
        assertThatThrownBy(() -> features.predictOnCallingThread(List.of(extreme)))
                .isInstanceOf(InvalidInputException.class);
        ModelOutput large = features.predict(List.of(new ModelInput.Features(new float[] {1e30f, 1e30f, 1e30f, 1e30f})))
                .get(0);
        assertThat(large.confidence()).isBetween(0.0, 1.0);
    }

    @Test
    void anImageInputTooLargeForATensorIsInvalidModel() {
        ModelArtifact base = Fixtures.artifact(Fixtures.IMAGE);
        ModelMetadata m = base.metadata();
        ModelArtifact huge = new ModelArtifact(base.directory(), base.artifactFile(), new ModelMetadata(m.format(),
                m.task(), m.labels(), new dev.flywheel.spi.runtime.InputSpec.Image(99999, 99999, 3, null, null),
                m.output()));
        assertThatThrownBy(() -> runtime.load(huge))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("too large");
    }

    @Test
    void corruptImageIsInvalidInput() throws Exception {
        byte[] png = Files.readAllBytes(Fixtures.IMAGE.resolve("red.png"));
        byte[] truncated = Arrays.copyOf(png, 40);
        assertThatThrownBy(() -> image.predict(List.of(new ModelInput.Image(truncated, "image/png"))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageStartingWith("the image could not be decoded");

        byte[] garbage = new byte[500];
        new Random(1).nextBytes(garbage);
        assertThatThrownBy(() -> image.predict(List.of(new ModelInput.Image(garbage, "image/jpeg"))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("neither PNG nor JPEG");

        byte[] jpegHeaderThenGarbage = Arrays.copyOf(new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 0x01}, 300);
        assertThatThrownBy(() -> image.predict(List.of(new ModelInput.Image(jpegHeaderThenGarbage, "image/jpeg"))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageStartingWith("the image could not be decoded");
    }

    @Test
    void inputOfTheWrongKindIsInvalidInput() {
        assertThatThrownBy(() -> image.predict(List.of(new ModelInput.Features(new float[] {1, 2, 3, 4}))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("takes a PNG or JPEG image (16x16 RGB), not a feature vector");
        assertThatThrownBy(() -> features.predict(List.of(Fixtures.image("red.png"))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("takes a feature vector of 4 values, not an image");
    }

    @Test
    void randomBytesAsModelFileAreInvalidModel() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("corrupt"));
        byte[] junk = new byte[4096];
        new Random(42).nextBytes(junk);
        Files.write(dir.resolve("model.pt"), junk);
        ModelArtifact artifact = new ModelArtifact(dir, dir.resolve("model.pt"),
                Fixtures.metadata(Fixtures.FEATURES.resolve("model.json")));

        assertThatThrownBy(() -> runtime.load(artifact))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageStartingWith("model.pt is not a loadable TorchScript model");
    }

    @Test
    void aZipThatIsNotTorchScriptIsInvalidModel() throws Exception {
        // A zip, like a TorchScript archive, but without the archive's contents: libtorch must reject it too.
        Path dir = Files.createDirectories(tmp.resolve("zip"));
        Path file = dir.resolve("model.pt");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("model/data.pkl"));
            zip.write("not a pickle".getBytes());
            zip.closeEntry();
        }
        ModelArtifact artifact = new ModelArtifact(dir, file, Fixtures.metadata(Fixtures.FEATURES.resolve("model.json")));

        assertThatThrownBy(() -> runtime.load(artifact))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageStartingWith("model.pt is not a loadable TorchScript model");
    }

    @Test
    void missingModelFileIsInvalidModel() {
        ModelArtifact artifact = new ModelArtifact(tmp, tmp.resolve("model.pt"),
                Fixtures.metadata(Fixtures.FEATURES.resolve("model.json")));
        assertThatThrownBy(() -> runtime.load(artifact))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("missing");
    }

    @Test
    void labelCountMismatchIsInvalidModel() {
        ModelArtifact base = Fixtures.artifact(Fixtures.FEATURES);
        ModelArtifact fourLabels = new ModelArtifact(base.directory(), base.artifactFile(),
                Fixtures.withLabels(base.metadata(), List.of("a", "b", "c", "d")));

        assertThatThrownBy(() -> runtime.load(fourLabels))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("expected (2, 4)")
                .hasMessageContaining("4 labels")
                .hasMessageContaining("has 3 output columns");
    }

    @Test
    void inputSizeMismatchIsInvalidModel() {
        ModelArtifact base = Fixtures.artifact(Fixtures.FEATURES);
        ModelMetadata m = base.metadata();
        ModelArtifact eightFeatures = new ModelArtifact(base.directory(), base.artifactFile(),
                new ModelMetadata(m.format(), m.task(), m.labels(),
                        new dev.flywheel.spi.runtime.InputSpec.Features(8), m.output()));

        assertThatThrownBy(() -> runtime.load(eightFeatures))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("fails on an input of shape [2, 8]");
    }

    @Test
    void unknownFormatTaskAndDuplicateLabelsAreInvalidModel() {
        ModelArtifact base = Fixtures.artifact(Fixtures.FEATURES);
        ModelMetadata m = base.metadata();
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(base.directory(), base.artifactFile(),
                new ModelMetadata("onnx", m.task(), m.labels(), m.input(), m.output()))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("not \"onnx\"");
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(base.directory(), base.artifactFile(),
                new ModelMetadata(m.format(), "detection", m.labels(), m.input(), m.output()))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("classification");
        assertThatThrownBy(() -> runtime.load(new ModelArtifact(base.directory(), base.artifactFile(),
                Fixtures.withLabels(m, List.of("a", "b", "a")))))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("repeat");
    }

    @Test
    void logitsAreSoftmaxedAndProbabilitiesAreNot() throws Exception {
        ModelArtifact probs = Fixtures.artifact(Fixtures.IMAGE);
        assertThat(probs.metadata().output()).isEqualTo(ModelMetadata.OutputKind.PROBABILITIES);
        ModelArtifact asLogits = new ModelArtifact(probs.directory(), probs.artifactFile(),
                Fixtures.withOutput(probs.metadata(), ModelMetadata.OutputKind.LOGITS));
        // An image whose colour is neither clearly red nor blue, so that the probabilities are not 0 and 1.
        ModelInput input = new ModelInput.Image(Images.png(16, 16, 0x806070), "image/png");

        ModelOutput raw;
        ModelOutput softmaxed;
        try (LoadedModel logitsModel = runtime.load(asLogits)) {
            raw = image.predict(List.of(input)).get(0);
            softmaxed = logitsModel.predict(List.of(input)).get(0);
        }

        double[] p = raw.scores().values().stream().mapToDouble(Double::doubleValue).toArray();
        double[] expected = p.clone();
        DjlLoadedModel.softmaxInPlace(expected);
        // The probabilities model gave its output as is; declared as logits, that output went through softmax.
        assertThat(softmaxed.scores().get("red")).isCloseTo(expected[0], within(1e-6));
        assertThat(softmaxed.scores().get("blue")).isCloseTo(expected[1], within(1e-6));
        assertThat(Math.abs(expected[0] - p[0])).as("softmax changed the scores").isGreaterThan(1e-3);
        assertThat(softmaxed.label()).isEqualTo(raw.label());
    }

    @Test
    void logitsModelDeclaredAsProbabilitiesIsInvalidModel() {
        ModelArtifact base = Fixtures.artifact(Fixtures.FEATURES);
        ModelArtifact wrong = new ModelArtifact(base.directory(), base.artifactFile(),
                Fixtures.withOutput(base.metadata(), ModelMetadata.OutputKind.PROBABILITIES));

        assertThatThrownBy(() -> runtime.load(wrong))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("declare \"output\": \"logits\"");
    }

    @Test
    void closedModelRefusesPredictions() throws Exception {
        LoadedModel model = runtime.load(Fixtures.artifact(Fixtures.FEATURES));
        model.close();
        model.close(); // a second close is harmless
        assertThatThrownBy(() -> model.predict(List.of(new ModelInput.Features(new float[] {1, 2, 3, 4}))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("unloaded");
    }

    @Test
    void emptyRequestGivesNoOutputs() throws Exception {
        assertThat(features.predict(List.of())).isEmpty();
    }
}
