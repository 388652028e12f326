package dev.flywheel.plugins.provisioner.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Toleration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Job names, label values, and the parsing of node selectors and tolerations. */
class NamesAndSettingsTest {

    private static final String DNS_1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

    @Test
    void aSafeRunIdIsUsedAsIs() {
        assertThat(JobNames.jobName("01j9x3k7p2")).isEqualTo("flywheel-01j9x3k7p2");
    }

    @Test
    void otherRunIdsAreCleanedShortenedAndKeptApartByAHash() {
        String upper = JobNames.jobName("Run_42");
        String lower = JobNames.jobName("run-42");
        String longId = JobNames.jobName("x".repeat(100));
        String longOther = JobNames.jobName("x".repeat(99) + "y");

        assertThat(upper).matches("flywheel-run-42-[0-9a-f]{8}").isNotEqualTo(lower).matches(DNS_1123_LABEL);
        assertThat(longId).hasSizeLessThanOrEqualTo(63).matches(DNS_1123_LABEL).isNotEqualTo(longOther);
        assertThat(JobNames.jobName("x".repeat(100))).isEqualTo(longId);
        assertThat(JobNames.jobName("trailing-")).matches(DNS_1123_LABEL);
        assertThat(JobNames.jobName("///")).matches("flywheel-[0-9a-f]{8}");
    }

    @Test
    void labelValuesAreTrimmedToWhatKubernetesAccepts() {
        assertThat(JobNames.labelValue("auto-retrain-v3")).isEqualTo("auto-retrain-v3");
        assertThat(JobNames.labelValue("my run #3!")).isEqualTo("my_run__3");
        assertThat(JobNames.labelValue("a".repeat(70))).hasSize(63);
    }

    @Test
    void nodeSelectorsAreKeyValuePairs() {
        assertThat(KubernetesSettings.parseNodeSelector("H100", "nvidia.com/gpu.product=NVIDIA-H100, pool = big"))
                .containsExactly(Map.entry("nvidia.com/gpu.product", "NVIDIA-H100"), Map.entry("pool", "big"));
        assertThatThrownBy(() -> KubernetesSettings.parseNodeSelector("A10G", "NVIDIA-A10G"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gpu_node_selectors.A10G: \"NVIDIA-A10G\" is not key=value");
    }

    @Test
    void tolerationsAreKeyOptionalValueAndOptionalEffect() {
        assertThat(KubernetesSettings.parseToleration("nvidia.com/gpu:NoSchedule"))
                .isEqualTo(toleration("nvidia.com/gpu", "Exists", null, "NoSchedule"));
        assertThat(KubernetesSettings.parseToleration("dedicated=training:NoExecute"))
                .isEqualTo(toleration("dedicated", "Equal", "training", "NoExecute"));
        assertThat(KubernetesSettings.parseToleration("spot"))
                .isEqualTo(toleration("spot", "Exists", null, null));
        assertThatThrownBy(() -> KubernetesSettings.parseToleration("gpu:Sometimes"))
                .hasMessageContaining("effect \"Sometimes\"");
        assertThatThrownBy(() -> KubernetesSettings.parseToleration("=x:NoSchedule"))
                .hasMessageContaining("has no key");
    }

    private static Toleration toleration(String key, String operator, String value, String effect) {
        var t = new Toleration();
        t.setKey(key);
        t.setOperator(operator);
        t.setValue(value);
        t.setEffect(effect);
        return t;
    }
}
