package dev.flywheel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BenchArgsTest {

    private static BenchArgs parse(String... args) {
        return BenchArgs.parse(args, 1, Set.of("--measure", "--sizes", "--low-share", "--bulks", "--shadow-hidden"), Set.of("--quick"));
    }

    @Test
    void valuesSwitchesAndDefaults() {
        BenchArgs a = parse("review-queue", "--quick", "--measure", "12s", "--sizes", "10, 20", "--low-share", "0.2");
        assertThat(a.has("--quick")).isTrue();
        assertThat(a.seconds("--measure", Duration.ZERO)).isEqualTo(Duration.ofSeconds(12));
        assertThat(a.integers("--sizes", List.of(), 1, 100)).containsExactly(10, 20);
        assertThat(parse("shadow", "--shadow-hidden", "64, 32x3").integers("--shadow-hidden", List.of(), 1, 100))
                .containsExactly(64, 32, 32, 32);
        assertThat(ShadowBench.compact(List.of(64, 32, 32, 32, 32, 32, 32, 16))).isEqualTo("[64, 32x6, 16]");
        assertThat(ShadowBench.compact(List.of(4096, 4096))).isEqualTo("[4096, 4096]");
        assertThat(a.number("--low-share", 0.15, 0, 1)).isEqualTo(0.2);
        assertThat(a.integer("--bulks", 40, 1, 100)).isEqualTo(40);
        assertThat(parse("shadow").has("--quick")).isFalse();
    }

    @Test
    void refusesTyposMissingValuesRepeatsAndOutOfRange() {
        assertThatThrownBy(() -> parse("x", "--measur", "3")).hasMessageContaining("unknown option --measur");
        assertThatThrownBy(() -> parse("x", "--measure")).hasMessageContaining("needs a value");
        assertThatThrownBy(() -> parse("x", "--bulks", "1", "--bulks", "2")).hasMessageContaining("twice");
        assertThatThrownBy(() -> parse("x", "--bulks", "0").integer("--bulks", 1, 1, 10))
                .hasMessageContaining("1 to 10");
        assertThatThrownBy(() -> parse("x", "--bulks", "many").integer("--bulks", 1, 1, 10))
                .hasMessageContaining("whole numbers");
        assertThatThrownBy(() -> parse("x", "--measure", "-1").seconds("--measure", Duration.ZERO))
                .hasMessageContaining("0 to 3600");
        assertThatThrownBy(() -> parse("x", "--low-share", "1.5").number("--low-share", 0, 0, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
