package dev.flywheel.plugins.runtime.djl;

import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.InvalidInputException;
import dev.flywheel.spi.runtime.ModelInput;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Checks inputs against a model's {@link InputSpec} and turns each into one row of the model's input tensor.
 *
 * <p>This runs on the caller's thread, before batching, so that a bad input fails only its own request and
 * the batch dispatcher only ever sees tensors it can stack.
 *
 * <p>Images follow the torchvision convention of the model artifact contract: decoded to RGB (or grey),
 * resized to the model's size with a bilinear filter that averages when it shrinks (as PIL's
 * {@code resize(..., BILINEAR)} does), laid out as {@code [channels, height, width]}, scaled to 0..1 and
 * normalised with {@code (x - mean) / std}.
 */
final class InputDecoder {

    /** Decoding a bigger image would take more memory than any classifier input deserves. */
    static final long MAX_IMAGE_PIXELS = 40_000_000L;

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private final InputSpec spec;
    private final long[] rowShape;
    private final int rowLength;

    InputDecoder(InputSpec spec) {
        this.spec = spec;
        if (spec instanceof InputSpec.Features f) {
            rowShape = new long[] {f.size()};
        } else {
            InputSpec.Image image = (InputSpec.Image) spec;
            rowShape = new long[] {image.channels(), image.height(), image.width()};
        }
        long length = 1;
        for (long d : rowShape) {
            length *= d;
        }
        if (length > Integer.MAX_VALUE / 64) {
            throw new IllegalArgumentException("input shape " + java.util.Arrays.toString(rowShape) + " is too large");
        }
        rowLength = (int) length;
    }

    /** The shape of one input without the batch dimension: {@code [size]} or {@code [C, H, W]}. */
    long[] rowShape() {
        return rowShape.clone();
    }

    /** The number of floats in one row. */
    int rowLength() {
        return rowLength;
    }

    /**
     * Decodes a request's inputs.
     *
     * @throws InvalidInputException naming the first input that does not fit (by index when there are several)
     */
    float[][] decodeAll(List<ModelInput> inputs) throws InvalidInputException {
        float[][] rows = new float[inputs.size()][];
        for (int i = 0; i < rows.length; i++) {
            try {
                rows[i] = decode(inputs.get(i));
            } catch (InvalidInputException e) {
                if (rows.length == 1) {
                    throw e;
                }
                throw new InvalidInputException("input " + i + ": " + e.getMessage(), e.getCause());
            }
        }
        return rows;
    }

    /** Decodes one input into a row of {@link #rowLength()} floats. */
    float[] decode(ModelInput input) throws InvalidInputException {
        if (input == null) {
            throw new InvalidInputException("input is missing");
        }
        if (spec instanceof InputSpec.Features f) {
            if (!(input instanceof ModelInput.Features features)) {
                throw new InvalidInputException(
                        "this model takes a feature vector of " + f.size() + " values, not an image");
            }
            return decodeFeatures(features.values(), f.size());
        }
        InputSpec.Image image = (InputSpec.Image) spec;
        if (!(input instanceof ModelInput.Image img)) {
            throw new InvalidInputException("this model takes a PNG or JPEG image (" + describe(image)
                    + "), not a feature vector");
        }
        return decodeImage(img.bytes(), image);
    }

    private static float[] decodeFeatures(float[] values, int size) throws InvalidInputException {
        if (values == null) {
            throw new InvalidInputException("features are missing");
        }
        if (values.length != size) {
            throw new InvalidInputException("expected " + size + " features, got " + values.length);
        }
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new InvalidInputException("feature " + i + " is " + values[i]
                        + "; features must be finite numbers");
            }
        }
        // Copied because the caller may reuse its array while the request waits for its batch.
        return values.clone();
    }

    private float[] decodeImage(byte[] bytes, InputSpec.Image spec) throws InvalidInputException {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidInputException("the image is empty");
        }
        if (!isPng(bytes) && !isJpeg(bytes)) {
            throw new InvalidInputException("the image is neither PNG nor JPEG (its first bytes are not a PNG or JPEG"
                    + " signature)");
        }
        BufferedImage decoded = read(bytes);
        int w = decoded.getWidth();
        int h = decoded.getHeight();
        float[][] planes = toPlanes(decoded, spec.channels());
        float[] row = new float[rowLength];
        int plane = spec.width() * spec.height();
        for (int c = 0; c < spec.channels(); c++) {
            float[] resized = resize(planes[c], w, h, spec.width(), spec.height());
            float mean = spec.mean().get(c).floatValue();
            float std = spec.std().get(c).floatValue();
            for (int i = 0; i < plane; i++) {
                row[c * plane + i] = (resized[i] / 255f - mean) / std;
            }
        }
        return row;
    }

    private static BufferedImage read(byte[] bytes) throws InvalidInputException {
        // An in-memory stream: ImageIO's default would spill every request to a temporary file.
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new InvalidInputException("the image could not be decoded: no PNG or JPEG decoder recognises it");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_IMAGE_PIXELS) {
                    throw new InvalidInputException("the image is " + reader.getWidth(0) + "x" + reader.getHeight(0)
                            + " pixels; at most " + MAX_IMAGE_PIXELS / 1_000_000 + " megapixels are accepted");
                }
                BufferedImage image = reader.read(0);
                if (image == null || image.getWidth() == 0 || image.getHeight() == 0) {
                    throw new InvalidInputException("the image could not be decoded: it has no pixels");
                }
                return image;
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            // ImageIO reports truncated or garbled data as IIOException, but also as assorted runtime exceptions.
            throw new InvalidInputException("the image could not be decoded: " + describe(e), e);
        }
    }

    /** The image as 0..255 planes: R, G, B for a colour model, one luminance plane for a grey one. */
    private static float[][] toPlanes(BufferedImage image, int channels) {
        int w = image.getWidth();
        int h = image.getHeight();
        int n = w * h;
        float[] r = new float[n];
        float[] g = new float[n];
        float[] b = new float[n];
        if (image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            // Java treats grey images as linear and would brighten them on conversion to sRGB; PIL and
            // torchvision take the stored values as they are, so read the samples directly.
            Raster raster = image.getRaster();
            int bits = image.getColorModel().getComponentSize(0);
            float scale = 255f / ((1 << bits) - 1);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    float v = raster.getSample(x, y, 0) * scale;
                    int i = y * w + x;
                    r[i] = v;
                    g[i] = v;
                    b[i] = v;
                }
            }
        } else {
            int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
            for (int i = 0; i < n; i++) {
                // Alpha is dropped, as PIL's convert("RGB") does.
                r[i] = (argb[i] >> 16) & 0xff;
                g[i] = (argb[i] >> 8) & 0xff;
                b[i] = argb[i] & 0xff;
            }
        }
        if (channels == 3) {
            return new float[][] {r, g, b};
        }
        float[] luminance = new float[n];
        for (int i = 0; i < n; i++) {
            // ITU-R 601-2 luma, the weights of PIL's convert("L").
            luminance[i] = r[i] * 0.299f + g[i] * 0.587f + b[i] * 0.114f;
        }
        return new float[][] {luminance};
    }

    /** Separable bilinear (triangle filter) resampling, widened by the scale factor when shrinking. */
    static float[] resize(float[] src, int srcW, int srcH, int dstW, int dstH) {
        if (srcW == dstW && srcH == dstH) {
            return src;
        }
        float[] horizontal = new float[dstW * srcH];
        Filter fx = Filter.of(srcW, dstW);
        for (int y = 0; y < srcH; y++) {
            fx.apply(src, y * srcW, 1, horizontal, y * dstW, 1);
        }
        float[] out = new float[dstW * dstH];
        Filter fy = Filter.of(srcH, dstH);
        for (int x = 0; x < dstW; x++) {
            fy.apply(horizontal, x, dstW, out, x, dstW);
        }
        return out;
    }

    /** The weights of each output position along one axis. */
    private record Filter(int[] first, float[][] weights) {

        static Filter of(int in, int out) {
            double scale = (double) in / out;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // the triangle filter reaches 1 pixel, scaled when shrinking
            int[] first = new int[out];
            float[][] weights = new float[out][];
            for (int i = 0; i < out; i++) {
                double centre = (i + 0.5) * scale;
                int lo = Math.max((int) Math.floor(centre - support + 0.5), 0);
                int hi = Math.min((int) Math.floor(centre + support + 0.5), in);
                double[] w = new double[Math.max(hi - lo, 1)];
                double sum = 0;
                for (int k = 0; k < hi - lo; k++) {
                    double t = Math.abs((lo + k - centre + 0.5) / filterScale);
                    w[k] = Math.max(0.0, 1.0 - t);
                    sum += w[k];
                }
                float[] normalised = new float[w.length];
                if (sum == 0) {
                    // Cannot happen for in, out >= 1, but a zero sum would spread NaN through the image.
                    lo = Math.min(lo, in - 1);
                    normalised[0] = 1f;
                } else {
                    for (int k = 0; k < w.length; k++) {
                        normalised[k] = (float) (w[k] / sum);
                    }
                }
                first[i] = lo;
                weights[i] = normalised;
            }
            return new Filter(first, weights);
        }

        void apply(float[] src, int srcOffset, int srcStride, float[] dst, int dstOffset, int dstStride) {
            for (int i = 0; i < first.length; i++) {
                float[] w = weights[i];
                float acc = 0;
                int base = srcOffset + first[i] * srcStride;
                for (int k = 0; k < w.length; k++) {
                    acc += w[k] * src[base + k * srcStride];
                }
                dst[dstOffset + i * dstStride] = acc;
            }
        }
    }

    private static boolean isPng(byte[] b) {
        if (b.length < PNG_SIGNATURE.length) {
            return false;
        }
        for (int i = 0; i < PNG_SIGNATURE.length; i++) {
            if (b[i] != PNG_SIGNATURE[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean isJpeg(byte[] b) {
        return b.length >= 3 && b[0] == (byte) 0xff && b[1] == (byte) 0xd8 && b[2] == (byte) 0xff;
    }

    private static String describe(InputSpec.Image image) {
        return image.width() + "x" + image.height() + (image.channels() == 3 ? " RGB" : " grey");
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
