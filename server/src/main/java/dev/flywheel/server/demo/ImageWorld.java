package dev.flywheel.server.demo;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * The images world: 16x16 RGB photos (PNG) of a red, green or blue thing — a disc or a square of random size and
 * place, its colour varying a little — on a grey, noisy background. In the drifted world a new camera took the
 * pictures: its colour balance moves every colour 60% of the way to the next hue (red towards green, green towards
 * blue, blue towards red) and it exposes brighter, so a model trained on the original world mostly calls a thing by
 * the next colour's name; the drifted colours are still distinct, so a model retrained on reviewed drifted pictures
 * tells them apart again. Seeded and thread-safe, like {@link FeatureWorld}.
 */
public final class ImageWorld implements World {

    /** The model's labels, in its output order. */
    public static final List<String> LABELS = List.of("red", "green", "blue");
    /** Width and height of every picture. */
    static final int SIZE = 16;
    private static final int HIDDEN = 32;
    /** How far the drifted camera moves each colour towards the next hue. */
    static final double HUE_SHIFT = 0.6;

    private final Random random;

    /** A world drawing from this seed. */
    public ImageWorld(long seed) {
        this.random = new Random(seed);
    }

    @Override
    public String kind() {
        return "images";
    }

    @Override
    public List<String> labels() {
        return LABELS;
    }

    @Override
    public synchronized Sample next(boolean drifted) {
        int c = random.nextInt(LABELS.size());
        double[][][] rgb = new double[3][SIZE][SIZE];
        double background = 0.15 + random.nextDouble() * 0.25;
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                double grey = background + random.nextGaussian() * 0.03;
                for (int ch = 0; ch < 3; ch++) {
                    rgb[ch][y][x] = grey + random.nextGaussian() * 0.01;
                }
            }
        }
        double[] colour = new double[3];
        for (int ch = 0; ch < 3; ch++) {
            colour[ch] = ch == c ? 0.7 + random.nextDouble() * 0.25 : 0.05 + random.nextDouble() * 0.25;
        }
        boolean disc = random.nextBoolean();
        double radius = 3 + random.nextDouble() * 3;
        double cx = 4.5 + random.nextDouble() * 6;
        double cy = 4.5 + random.nextDouble() * 6;
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                double dx = x + 0.5 - cx;
                double dy = y + 0.5 - cy;
                boolean inside = disc ? dx * dx + dy * dy <= radius * radius
                        : Math.abs(dx) <= radius && Math.abs(dy) <= radius;
                if (inside) {
                    for (int ch = 0; ch < 3; ch++) {
                        rgb[ch][y][x] = colour[ch] + random.nextGaussian() * 0.02;
                    }
                }
            }
        }
        BufferedImage image = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                double[] px = {rgb[0][y][x], rgb[1][y][x], rgb[2][y][x]};
                if (drifted) {
                    px = newCamera(px);
                }
                image.setRGB(x, y, (byte8(px[0]) << 16) | (byte8(px[1]) << 8) | byte8(px[2]));
            }
        }
        return new Sample(png(image), "image/png", null, LABELS.get(c), drifted);
    }

    /** The drifted camera: each channel takes 60% of the previous hue's channel, and the picture is brighter. */
    static double[] newCamera(double[] px) {
        double[] out = new double[3];
        for (int ch = 0; ch < 3; ch++) {
            double mixed = (1 - HUE_SHIFT) * px[ch] + HUE_SHIFT * px[(ch + 2) % 3];
            out[ch] = 0.2 + 0.8 * mixed;
        }
        return out;
    }

    private static int byte8(double v) {
        return (int) Math.round(Math.max(0, Math.min(1, v)) * 255);
    }

    private static byte[] png(BufferedImage image) {
        var out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("this Java has no PNG writer");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    @Override
    public String modelJson() {
        return "{\"format\": \"djl\", \"task\": \"classification\", \"labels\": [\"red\", \"green\", \"blue\"], "
                + "\"input\": {\"kind\": \"image\", \"width\": " + SIZE + ", \"height\": " + SIZE + ", \"channels\": 3, "
                + "\"mean\": [0.5, 0.5, 0.5], \"std\": [0.25, 0.25, 0.25]}, \"output\": \"logits\"}";
    }

    @Override
    public String untrainedArchitecture(long seed) {
        return "{\"type\": \"mlp\", \"input_size\": " + 3 * SIZE * SIZE + ", \"hidden\": [" + HIDDEN + "], \"classes\": 3, "
                + "\"activation\": \"relu\", \"initialize\": {\"seed\": " + seed + "}}";
    }

    @Override
    public String network() {
        return "MLP " + 3 * SIZE * SIZE + "-" + HIDDEN + "-3 on the 16x16 RGB pixels";
    }

    @Override
    public String description() {
        return "16x16 PNG photos of a red, green or blue disc or square on a grey background";
    }

    @Override
    public String driftDescription() {
        return "a new camera shifts every colour 60% of the way to the next hue and exposes brighter";
    }
}
