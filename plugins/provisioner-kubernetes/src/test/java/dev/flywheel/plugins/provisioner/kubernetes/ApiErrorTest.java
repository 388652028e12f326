package dev.flywheel.plugins.provisioner.kubernetes;

import static dev.flywheel.plugins.provisioner.kubernetes.Specs.NAMESPACE;
import static dev.flywheel.plugins.provisioner.kubernetes.Specs.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.provisioner.GpuType;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.ProvisioningException;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeListBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** How API errors reach the server, against the mock server in expectation mode. */
@EnableKubernetesMockClient
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ApiErrorTest {

    static final String JOBS = "/apis/batch/v1/namespaces/" + NAMESPACE + "/jobs";
    static final String JOB = "flywheel-run-0042";

    KubernetesMockServer server;
    KubernetesClient client;
    KubernetesProvisioner provisioner;

    @BeforeEach
    void setUp() {
        // No client-side retries: each expectation answers once, and the server does the retrying anyway.
        KubernetesClient noRetries = new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder(client.getConfiguration()).withRequestRetryBackoffLimit(0).build())
                .build();
        provisioner = new KubernetesProvisioner(Specs.settings(), noRetries, System.getLogger("test"));
    }

    @AfterEach
    void tearDown() {
        provisioner.close();
    }

    @Test
    void aForbiddenJobCreationFailsForGoodNamingRbac() {
        server.expect().post().withPath(JOBS).andReturn(403, status(403, "Forbidden", "jobs.batch is forbidden: User "
                + "\"system:serviceaccount:flywheel:flywheel\" cannot create resource \"jobs\" in API group \"batch\""))
                .once();

        assertThatThrownBy(() -> provisioner.submit(spec("run-0042", "A10G", false)))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains("creating Job " + JOB + " is forbidden (403)", "RBAC",
                            "cannot create resource \"jobs\"");
                });
    }

    @Test
    void rejectedCredentialsFailForGood() {
        server.expect().post().withPath(JOBS).andReturn(401, status(401, "Unauthorized", "Unauthorized")).once();

        assertThatThrownBy(() -> provisioner.submit(spec("run-0042", null, false)))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains("rejected the credentials", "401");
                });
    }

    @Test
    void aServerErrorIsWorthRetrying() {
        server.expect().post().withPath(JOBS).andReturn(503, status(503, "ServiceUnavailable", "etcd is busy"))
                .once();

        assertThatThrownBy(() -> provisioner.submit(spec("run-0042", null, false)))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isTrue();
                    assertThat(e.getMessage()).contains("503");
                });
    }

    @Test
    void whenTheTokenSecretIsForbiddenTheSuspendedJobIsDeletedAgain() throws Exception {
        Job created = new JobBuilder().withNewMetadata().withName(JOB).withNamespace(NAMESPACE).withUid("uid-1")
                .endMetadata().withNewSpec().withSuspend(true).endSpec().build();
        server.expect().post().withPath(JOBS).andReturn(201, created).once();
        server.expect().get().withPath("/api/v1/namespaces/" + NAMESPACE + "/secrets/" + JOB + "-run-token")
                .andReturn(404, status(404, "NotFound", "not found")).once();
        server.expect().post().withPath("/api/v1/namespaces/" + NAMESPACE + "/secrets")
                .andReturn(403, status(403, "Forbidden", "secrets is forbidden")).once();
        server.expect().delete().withPath(JOBS + "/" + JOB).andReturn(200, status(200, null, null)).once();

        assertThatThrownBy(() -> provisioner.submit(spec("run-0042", null, false)))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains("creating Secret " + JOB + "-run-token is forbidden");
                });
        assertThat(requests()).contains("POST " + JOBS, "POST /api/v1/namespaces/" + NAMESPACE + "/secrets",
                "DELETE " + JOBS + "/" + JOB);
    }

    @Test
    void cancellingAJobThatIsAlreadyGoneIsFine() throws Exception {
        server.expect().delete().withPath(JOBS + "/" + JOB).andReturn(404, status(404, "NotFound", "not found"))
                .once();

        provisioner.cancel(new JobHandle(JOB, Map.of("namespace", NAMESPACE)));

        assertThat(requests()).containsExactly("DELETE " + JOBS + "/" + JOB);
    }

    @Test
    void withoutNodeAccessNoGpuTypesAreOffered() {
        server.expect().get().withPath("/api/v1/nodes").andReturn(403, status(403, "Forbidden", "nodes is forbidden"))
                .once();

        assertThat(provisioner.gpuTypes()).isEmpty();
    }

    @Test
    void withoutPodAccessAvailabilityIsUnknown() {
        server.expect().get().withPath("/api/v1/nodes").andReturn(200, new NodeListBuilder().addToItems(
                new NodeBuilder().withNewMetadata().withName("n1").addToLabels("nvidia.com/gpu.product", "NVIDIA-A10G")
                        .endMetadata().withNewStatus().addToAllocatable("nvidia.com/gpu", new Quantity("2"))
                        .endStatus().build()).build()).once();
        server.expect().get().withPath("/api/v1/pods").andReturn(403, status(403, "Forbidden", "pods is forbidden"))
                .once();

        assertThat(provisioner.gpuTypes()).containsExactly(new GpuType("A10G", -1,
                "2 x nvidia.com/gpu on 1 node with nvidia.com/gpu.product=NVIDIA-A10G"));
    }

    private List<String> requests() throws InterruptedException {
        var seen = new ArrayList<String>();
        RecordedRequest r;
        while ((r = server.takeRequest(100, TimeUnit.MILLISECONDS)) != null) {
            String path = r.getPath();
            int q = path.indexOf('?');
            seen.add(r.getMethod() + " " + (q < 0 ? path : path.substring(0, q)));
        }
        return seen;
    }

    private static Status status(int code, String reason, String message) {
        return new StatusBuilder().withStatus(code < 300 ? "Success" : "Failure").withCode(code).withReason(reason)
                .withMessage(message).build();
    }
}
