package dev.flywheel.plugins.runtime.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.InvalidInputException;
import dev.flywheel.spi.runtime.ModelInput;
import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

class InputDecoderTest {

    @Test
    void imagesBecomeNormalisedChwRows() throws Exception {
        InputDecoder decoder = new InputDecoder(new InputSpec.Image(2, 2, 3, List.of(0.5, 0.5, 0.5), List.of(0.5, 0.25, 1.0)));
        // Red channel 255, green 0, blue 51 (0.2) everywhere.
        byte[] png = Images.png(4, 4, 0xff0033);

        float[] row = decoder.decode(new ModelInput.Image(png, "image/png"));

        assertThat(decoder.rowShape()).containsExactly(3, 2, 2);
        assertThat(row).hasSize(12);
        for (int i = 0; i < 4; i++) {
            assertThat(row[i]).isCloseTo((1f - 0.5f) / 0.5f, within(1e-5f));
            assertThat(row[4 + i]).isCloseTo((0f - 0.5f) / 0.25f, within(1e-5f));
            assertThat(row[8 + i]).isCloseTo(0.2f - 0.5f, within(1e-5f));
        }
    }

    @Test
    void shrinkingAveragesAndLaysOutRowsThenColumns() throws Exception {
        // Left half black, right half white, 4x2 -> 2x1. PIL's bilinear resize gives 36 and 219 of 255 here:
        // when shrinking, its filter widens and blends in the neighbouring half.
        BufferedImage img = new BufferedImage(4, 2, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 2; y++) {
            for (int x = 2; x < 4; x++) {
                img.setRGB(x, y, 0xffffff);
            }
        }
        InputDecoder decoder = new InputDecoder(new InputSpec.Image(2, 1, 1, null, null));

        float[] row = decoder.decode(new ModelInput.Image(Images.encode(img, "png"), "image/png"));

        assertThat(row).containsExactly(new float[] {1f / 7, 6f / 7}, within(1e-5f));
    }

    @Test
    void resizeMatchesPilBilinear() {
        // Expected values from PIL 9.4: Image.frombytes("L", (5, 1), bytes([0, 50, 100, 150, 200]))
        // .resize((3, 1) or (8, 1), Image.BILINEAR); PIL rounds to whole numbers, hence the tolerance.
        float[] src = {0, 50, 100, 150, 200};
        assertThat(InputDecoder.resize(src, 5, 1, 3, 1)).containsExactly(new float[] {21, 100, 179}, within(0.6f));
        assertThat(InputDecoder.resize(src, 5, 1, 8, 1))
                .containsExactly(new float[] {0, 22, 53, 84, 116, 147, 178, 200}, within(0.6f));
        // The same along the other axis.
        assertThat(InputDecoder.resize(src, 1, 5, 1, 3)).containsExactly(new float[] {21, 100, 179}, within(0.6f));
    }

    @Test
    void resizeOfAConstantImageStaysConstant() {
        float[] src = new float[7 * 5];
        java.util.Arrays.fill(src, 42f);
        for (float v : InputDecoder.resize(src, 7, 5, 16, 16)) {
            assertThat(v).isCloseTo(42f, within(1e-3f));
        }
        for (float v : InputDecoder.resize(src, 7, 5, 3, 2)) {
            assertThat(v).isCloseTo(42f, within(1e-3f));
        }
    }

    @Test
    void greyImagesKeepTheirStoredValues() throws Exception {
        BufferedImage grey = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSample(0, 0, 0, 128);
        InputDecoder decoder = new InputDecoder(new InputSpec.Image(2, 2, 3, null, null));

        float[] row = decoder.decode(new ModelInput.Image(Images.encode(grey, "png"), "image/png"));

        // 128/255 in every channel, not the brighter value a linear-to-sRGB conversion would give.
        assertThat(row[0]).isCloseTo(128 / 255f, within(1e-5f));
        assertThat(row[4]).isCloseTo(128 / 255f, within(1e-5f));
        assertThat(row[8]).isCloseTo(128 / 255f, within(1e-5f));
    }

    @Test
    void featuresAreCopied() throws Exception {
        InputDecoder decoder = new InputDecoder(new InputSpec.Features(2));
        float[] values = {1, 2};
        float[] row = decoder.decode(new ModelInput.Features(values));
        values[0] = 9;
        assertThat(row).containsExactly(1, 2);
    }

    @Test
    void nullsAreInvalidInput() {
        InputDecoder decoder = new InputDecoder(new InputSpec.Features(2));
        assertThatThrownBy(() -> decoder.decode(null)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> decoder.decode(new ModelInput.Features(null))).isInstanceOf(InvalidInputException.class);
        InputDecoder images = new InputDecoder(new InputSpec.Image(2, 2, 3, null, null));
        assertThatThrownBy(() -> images.decode(new ModelInput.Image(new byte[0], "image/png")))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("empty");
    }
}
