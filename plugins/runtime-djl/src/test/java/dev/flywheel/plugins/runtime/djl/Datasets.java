package dev.flywheel.plugins.runtime.djl;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Writes dataset exports in the training job contract's layout: manifest.jsonl and assets/. */
final class Datasets {

    private Datasets() {}

    /** One item of the export. */
    record Item(String id, byte[] payload, String contentType, String label, String split) {}

    static final List<String> FEATURE_LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");
    static final List<String> IMAGE_LABELS = List.of("red", "blue");

    /** The class centres of features-3class (fixtures/make_models.py). */
    static final float[][] CENTRES = {
        {5.0f, 3.4f, 1.5f, 0.2f},
        {5.9f, 2.6f, 4.2f, 1.3f},
        {6.8f, 3.1f, 6.0f, 2.4f},
    };

    /**
     * The class centres after a shift of the measuring instrument: every class has moved 60% of the way towards
     * the next one (the last away from its neighbour), so the fixture model, which draws its boundaries halfway
     * between the original centres, calls most points by the next class's name.
     */
    static float[][] shiftedCentres() {
        float[][] shifted = new float[3][4];
        for (int c = 0; c < 3; c++) {
            for (int f = 0; f < 4; f++) {
                float towards = c < 2 ? CENTRES[c + 1][f] - CENTRES[c][f] : CENTRES[2][f] - CENTRES[1][f];
                shifted[c][f] = CENTRES[c][f] + 0.6f * towards;
            }
        }
        return shifted;
    }

    /** Gaussian blobs (spread 0.25, as the fixture's) around the centres, as {"features": [...]} payloads. */
    static List<Item> featureItems(float[][] centres, int trainPerClass, int validationPerClass, long seed) {
        Random random = new Random(seed);
        List<Item> items = new ArrayList<>();
        for (int c = 0; c < centres.length; c++) {
            for (int i = 0; i < trainPerClass + validationPerClass; i++) {
                float[] x = new float[centres[c].length];
                for (int f = 0; f < x.length; f++) {
                    x[f] = centres[c][f] + (float) random.nextGaussian() * 0.25f;
                }
                items.add(new Item("f" + c + "-" + i, features(x), "application/json", FEATURE_LABELS.get(c),
                        i < trainPerClass ? "train" : "validation"));
            }
        }
        return items;
    }

    static byte[] features(float... x) {
        JsonArray a = new JsonArray();
        for (float v : x) {
            a.add(v);
        }
        JsonObject o = new JsonObject();
        o.add("features", a);
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Red and blue images as in make_models.py (a dominant channel in 0.55..1, the others in 0..0.45, a few
     * blotches of the other colour), seen by a camera whose channels are rotated: what is red arrives in the green
     * channel, what is green in the blue one, and what is blue in the red one. Red things therefore look green
     * and blue things look red. Every fourth image is a JPEG and every third is 32x32 (the model takes 16x16), so
     * decoding and resizing are part of what is trained on.
     */
    static List<Item> rotatedColourImages(int trainPerClass, int validationPerClass, long seed) {
        Random random = new Random(seed);
        List<Item> items = new ArrayList<>();
        int n = 0;
        for (int c = 0; c < 2; c++) {
            int dominant = c == 0 ? 0 : 2;
            for (int i = 0; i < trainPerClass + validationPerClass; i++, n++) {
                int size = n % 3 == 0 ? 32 : 16;
                float[][][] rgb = colouredImage(random, dominant, size);
                BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < size; y++) {
                    for (int x = 0; x < size; x++) {
                        int r = Math.round(rgb[2][y][x] * 255);
                        int g = Math.round(rgb[0][y][x] * 255);
                        int b = Math.round(rgb[1][y][x] * 255);
                        img.setRGB(x, y, (r << 16) | (g << 8) | b);
                    }
                }
                boolean jpeg = n % 4 == 0;
                items.add(new Item("i" + c + "-" + i, Images.encode(img, jpeg ? "jpg" : "png"),
                        jpeg ? "image/jpeg" : "image/png", IMAGE_LABELS.get(c),
                        i < trainPerClass ? "train" : "validation"));
            }
        }
        return items;
    }

    /** One image as [channel][y][x] in 0..1. */
    private static float[][][] colouredImage(Random random, int dominant, int size) {
        float[][][] img = new float[3][size][size];
        for (int ch = 0; ch < 3; ch++) {
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    img[ch][y][x] = ch == dominant ? 0.55f + random.nextFloat() * 0.45f : random.nextFloat() * 0.45f;
                }
            }
        }
        int other = 2 - dominant;
        int blotches = random.nextInt(4);
        for (int k = 0; k < blotches; k++) {
            int r = random.nextInt(size - 4);
            int c = random.nextInt(size - 4);
            float high = 0.6f + random.nextFloat() * 0.4f;
            float low = random.nextFloat() * 0.4f;
            for (int y = r; y < r + 4; y++) {
                for (int x = c; x < c + 4; x++) {
                    img[other][y][x] = high;
                    img[dominant][y][x] = low;
                }
            }
        }
        return img;
    }

    /** Writes the export into {@code dir}: assets/&lt;id&gt;.&lt;ext&gt; and manifest.jsonl. */
    static Path write(Path dir, List<Item> items) {
        try {
            Files.createDirectories(dir.resolve("assets"));
            StringBuilder manifest = new StringBuilder();
            for (Item item : items) {
                String ext = switch (item.contentType()) {
                    case "image/png" -> "png";
                    case "image/jpeg" -> "jpg";
                    default -> "json";
                };
                String asset = "assets/" + item.id() + "." + ext;
                if (item.payload() != null) {
                    Files.write(dir.resolve(asset), item.payload());
                }
                JsonObject line = new JsonObject();
                line.addProperty("id", item.id());
                line.addProperty("asset", asset);
                line.addProperty("content_type", item.contentType());
                line.addProperty("label", item.label());
                line.addProperty("split", item.split());
                manifest.append(line).append('\n');
            }
            Files.writeString(dir.resolve("manifest.jsonl"), manifest);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
