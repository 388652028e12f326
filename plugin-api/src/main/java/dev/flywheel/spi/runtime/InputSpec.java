package dev.flywheel.spi.runtime;

import java.util.List;

/** What a model takes as input: a feature vector or an image. */
public sealed interface InputSpec permits InputSpec.Features, InputSpec.Image {

    /**
     * A float tensor {@code [batch, size]}.
     *
     * @param size the number of features
     */
    record Features(int size) implements InputSpec {
        public Features {
            if (size <= 0) {
                throw new IllegalArgumentException("input.size must be positive");
            }
        }
    }

    /**
     * A float tensor {@code [batch, channels, height, width]}: pixels scaled to 0..1, then normalised per
     * channel with {@code (x - mean) / std} (the torchvision convention).
     *
     * @param width the width the image is resized to
     * @param height the height the image is resized to
     * @param channels 3 for RGB, 1 for grey
     * @param mean the per-channel mean, one value per channel
     * @param std the per-channel standard deviation, one value per channel
     */
    record Image(int width, int height, int channels, List<Double> mean, List<Double> std) implements InputSpec {
        public Image {
            if (width <= 0 || height <= 0) {
                throw new IllegalArgumentException("input.width and input.height must be positive");
            }
            if (channels != 1 && channels != 3) {
                throw new IllegalArgumentException("input.channels must be 1 or 3");
            }
            mean = mean == null ? java.util.Collections.nCopies(channels, 0.0) : List.copyOf(mean);
            std = std == null ? java.util.Collections.nCopies(channels, 1.0) : List.copyOf(std);
            if (mean.size() != channels || std.size() != channels) {
                throw new IllegalArgumentException("input.mean and input.std need one value per channel");
            }
            if (std.stream().anyMatch(s -> s == 0.0)) {
                throw new IllegalArgumentException("input.std must not contain 0");
            }
        }
    }
}
