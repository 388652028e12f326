package dev.flywheel.plugins.runtime.djl;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelMetadata;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The committed models under {@code fixtures/models} and a reader of their {@code model.json}. */
final class Fixtures {

    static final Path ROOT = Path.of(System.getProperty("flywheel.fixtures.dir", "../../fixtures/models"))
            .toAbsolutePath().normalize();
    static final Path FEATURES = ROOT.resolve("features-3class");
    static final Path IMAGE = ROOT.resolve("image-2class");

    private Fixtures() {}

    /** A feature sample of features-3class/samples.json. */
    record Sample(float[] features, String label) {}

    /** The fixture's model.pt with its model.json, read the way the contract describes it. */
    static ModelArtifact artifact(Path dir) {
        return new ModelArtifact(dir, dir.resolve("model.pt"), metadata(dir.resolve("model.json")));
    }

    static ModelMetadata metadata(Path modelJson) {
        JsonObject o = json(modelJson).getAsJsonObject();
        JsonObject in = o.getAsJsonObject("input");
        InputSpec input = switch (in.get("kind").getAsString()) {
            case "features" -> new InputSpec.Features(in.get("size").getAsInt());
            case "image" -> new InputSpec.Image(in.get("width").getAsInt(), in.get("height").getAsInt(),
                    in.get("channels").getAsInt(), doubles(in.getAsJsonArray("mean")), doubles(in.getAsJsonArray("std")));
            default -> throw new IllegalArgumentException("unknown input kind in " + modelJson);
        };
        List<String> labels = new ArrayList<>();
        o.getAsJsonArray("labels").forEach(l -> labels.add(l.getAsString()));
        return new ModelMetadata(o.get("format").getAsString(), o.get("task").getAsString(), labels, input,
                ModelMetadata.OutputKind.valueOf(o.get("output").getAsString().toUpperCase(java.util.Locale.ROOT)));
    }

    static List<Sample> featureSamples() {
        List<Sample> samples = new ArrayList<>();
        for (JsonElement e : json(FEATURES.resolve("samples.json")).getAsJsonArray()) {
            JsonArray f = e.getAsJsonObject().getAsJsonArray("features");
            float[] values = new float[f.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = f.get(i).getAsFloat();
            }
            samples.add(new Sample(values, e.getAsJsonObject().get("label").getAsString()));
        }
        return samples;
    }

    static ModelInput.Image image(String fileName) {
        try {
            return new ModelInput.Image(Files.readAllBytes(IMAGE.resolve(fileName)),
                    fileName.endsWith(".png") ? "image/png" : "image/jpeg");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ModelMetadata withLabels(ModelMetadata m, List<String> labels) {
        return new ModelMetadata(m.format(), m.task(), labels, m.input(), m.output());
    }

    static ModelMetadata withOutput(ModelMetadata m, ModelMetadata.OutputKind output) {
        return new ModelMetadata(m.format(), m.task(), m.labels(), m.input(), output);
    }

    private static List<Double> doubles(JsonArray a) {
        List<Double> out = new ArrayList<>();
        a.forEach(v -> out.add(v.getAsDouble()));
        return out;
    }

    private static JsonElement json(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
