package dev.flywheel.spi.runtime;

/** One input to predict on. */
public sealed interface ModelInput permits ModelInput.Features, ModelInput.Image {

    /**
     * A feature vector.
     *
     * @param values the features; the array is not copied, so callers must not change it afterwards
     */
    record Features(float[] values) implements ModelInput {}

    /**
     * An encoded image.
     *
     * @param bytes the PNG or JPEG bytes as received
     * @param contentType {@code image/png} or {@code image/jpeg}
     */
    record Image(byte[] bytes, String contentType) implements ModelInput {}
}
