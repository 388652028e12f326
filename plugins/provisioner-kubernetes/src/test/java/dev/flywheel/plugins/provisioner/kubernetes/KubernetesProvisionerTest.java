package dev.flywheel.plugins.provisioner.kubernetes;

import static dev.flywheel.plugins.provisioner.kubernetes.Specs.IMAGE;
import static dev.flywheel.plugins.provisioner.kubernetes.Specs.NAMESPACE;
import static dev.flywheel.plugins.provisioner.kubernetes.Specs.TOKEN;
import static dev.flywheel.plugins.provisioner.kubernetes.Specs.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.provisioner.GpuType;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.JobStatus;
import dev.flywheel.spi.provisioner.LogChunk;
import dev.flywheel.spi.provisioner.ProvisioningException;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The provisioner against fabric8's mock API server in CRUD mode (with explicit expectations for pod logs). */
@EnableKubernetesMockClient(crud = true)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubernetesProvisionerTest {

    static final String RUN = "run-0042";
    static final String JOB = "flywheel-run-0042";

    KubernetesMockServer server;
    KubernetesClient client;
    KubernetesProvisioner provisioner;

    @BeforeEach
    void setUp() {
        provisioner = new KubernetesProvisioner(Specs.settings(), server.createClient(),
                System.getLogger("test"));
    }

    @AfterEach
    void tearDown() {
        provisioner.close();
    }

    @Test
    void submitCreatesAGpuJobForTheRunWithItsTokenInASecretOwnedByTheJob() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, "A10G", false));

        assertThat(handle.id()).isEqualTo(JOB);
        assertThat(handle.attributes()).containsEntry("namespace", NAMESPACE).containsEntry("device", "gpu A10G");
        Job job = job();
        assertThat(job.getMetadata().getLabels())
                .containsEntry("flywheel.dev/run-id", RUN)
                .containsEntry("flywheel.dev/run-name", "auto-retrain-v3")
                .containsEntry("team", "ml");
        assertThat(job.getSpec().getBackoffLimit()).isZero();
        assertThat(job.getSpec().getActiveDeadlineSeconds()).isEqualTo(90 * 60L);
        assertThat(job.getSpec().getTtlSecondsAfterFinished()).isEqualTo(3600);
        assertThat(job.getSpec().getSuspend()).as("started once the Secret exists").isFalse();
        var pod = job.getSpec().getTemplate();
        assertThat(pod.getMetadata().getLabels()).containsEntry("flywheel.dev/job", JOB)
                .containsEntry("flywheel.dev/run-id", RUN);
        assertThat(pod.getSpec().getRestartPolicy()).isEqualTo("Never");
        assertThat(pod.getSpec().getNodeSelector()).containsExactly(
                Map.entry("nvidia.com/gpu.product", "NVIDIA-A10G"));
        assertThat(pod.getSpec().getTolerations()).extracting(Toleration::getKey, Toleration::getOperator,
                Toleration::getValue, Toleration::getEffect).containsExactly(
                        org.assertj.core.groups.Tuple.tuple("nvidia.com/gpu", "Exists", null, "NoSchedule"),
                        org.assertj.core.groups.Tuple.tuple("team", "Equal", "ml", "NoExecute"));
        Container container = pod.getSpec().getContainers().get(0);
        assertThat(pod.getSpec().getContainers()).hasSize(1);
        assertThat(container.getImage()).isEqualTo(IMAGE);
        assertThat(container.getCommand()).as("the image's wrapper, not the server's local command")
                .containsExactly("flywheel", "job", "run");
        assertThat(container.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(container.getResources().getRequests()).containsEntry("cpu", new Quantity("2"))
                .containsEntry("memory", new Quantity("8Gi"));
        assertThat(container.getEnv()).extracting(EnvVar::getName).containsExactlyInAnyOrder(
                "FLYWHEEL_SERVER_URL", "FLYWHEEL_RUN_ID", "FLYWHEEL_RUN_NAME", "FLYWHEEL_RUN_TOKEN");
        assertThat(env(container, "FLYWHEEL_SERVER_URL").getValue()).isEqualTo("http://flywheel.example:8080");
        assertThat(env(container, "FLYWHEEL_RUN_ID").getValue()).isEqualTo(RUN);
        EnvVar token = env(container, "FLYWHEEL_RUN_TOKEN");
        assertThat(token.getValue()).as("never in the Job spec").isNull();
        assertThat(token.getValueFrom().getSecretKeyRef().getName()).isEqualTo(JOB + "-run-token");
        assertThat(token.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("token");

        Secret secret = client.secrets().inNamespace(NAMESPACE).withName(JOB + "-run-token").get();
        assertThat(secretValue(secret)).isEqualTo(TOKEN);
        assertThat(secret.getMetadata().getOwnerReferences()).singleElement().satisfies(owner -> {
            assertThat(owner.getKind()).isEqualTo("Job");
            assertThat(owner.getApiVersion()).isEqualTo("batch/v1");
            assertThat(owner.getName()).isEqualTo(JOB);
            assertThat(owner.getUid()).isNotBlank().isEqualTo(job.getMetadata().getUid());
        });
    }

    @Test
    void aRunsOwnImageReplacesTheConfiguredOne() throws Exception {
        var base = spec(RUN, null, false);
        var own = new dev.flywheel.spi.provisioner.TrainingJobSpec(base.runId(), base.runName(), null, false,
                base.command(), base.environment(), "registry.example/custom:7", base.timeout());

        provisioner.submit(own);

        assertThat(job().getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                .isEqualTo("registry.example/custom:7");
    }

    @Test
    void aCpuRunGetsNoGpuAndNoNodeSelector() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, null, false));

        assertThat(handle.attributes()).containsEntry("device", "cpu");
        var pod = job().getSpec().getTemplate().getSpec();
        assertThat(pod.getNodeSelector()).isNullOrEmpty();
        assertThat(pod.getContainers().get(0).getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
    }

    @Test
    void anUnknownGpuTypeFailsForGoodWithoutCreatingAnything() {
        assertThatThrownBy(() -> provisioner.submit(spec(RUN, "T4", false)))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).isEqualTo(
                            "no node selector configured for GPU type T4; configured: [A10G, H100]");
                });
        assertThat(client.batch().v1().jobs().inNamespace(NAMESPACE).list().getItems()).isEmpty();
    }

    @Test
    void anUnknownGpuTypeRunsOnCpuWhenTheRunAllowsFallback() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, "T4", true));

        assertThat(handle.attributes().get("device")).startsWith("cpu (fallback: no node selector configured for GPU type T4");
        var pod = job().getSpec().getTemplate().getSpec();
        assertThat(pod.getNodeSelector()).isNullOrEmpty();
        assertThat(pod.getContainers().get(0).getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
    }

    @Test
    void submittingTheSameRunAgainReattachesToItsJob() throws Exception {
        JobHandle first = provisioner.submit(spec(RUN, "A10G", false));
        String uid = job().getMetadata().getUid();

        JobHandle second = provisioner.submit(spec(RUN, "A10G", false));

        assertThat(second).isEqualTo(first);
        assertThat(client.batch().v1().jobs().inNamespace(NAMESPACE).list().getItems()).singleElement()
                .satisfies(j -> assertThat(j.getMetadata().getUid()).isEqualTo(uid));
        assertThat(client.secrets().inNamespace(NAMESPACE).list().getItems()).hasSize(1);
    }

    @Test
    void aReattachStartsAJobThatAnEarlierAttemptLeftSuspendedWithoutItsSecret() throws Exception {
        Job left = JobManifests.job(Specs.settings(), spec(RUN, "A10G", false), JOB,
                new JobManifests.Placement("A10G", Map.of("nvidia.com/gpu.product", "NVIDIA-A10G"), "gpu A10G"), true);
        client.batch().v1().jobs().inNamespace(NAMESPACE).resource(left).create();

        provisioner.submit(spec(RUN, "A10G", false));

        assertThat(job().getSpec().getSuspend()).isFalse();
        assertThat(secretValue(client.secrets().inNamespace(NAMESPACE).withName(JOB + "-run-token").get()))
                .isEqualTo(TOKEN);
    }

    @Test
    void aJobOfAnotherRunUnderTheSameNameIsNotTakenOver() throws Exception {
        provisioner.submit(spec(RUN, null, false));
        client.batch().v1().jobs().inNamespace(NAMESPACE).withName(JOB).edit(j -> {
            j.getMetadata().getAnnotations().put("flywheel.dev/run-id", "someone-else");
            return j;
        });

        assertThatThrownBy(() -> provisioner.submit(spec(RUN, null, false)))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains("already exists", "run someone-else");
                });
    }

    @Test
    void statusFollowsThePodAndTheJobToSuccess() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, "A10G", false));

        assertThat(provisioner.status(handle).state()).isEqualTo(JobStatus.State.PENDING);

        createPod(new PodBuilder(pod()).editStatus().withPhase("Pending").addNewCondition()
                .withType("PodScheduled").withStatus("False").withReason("Unschedulable")
                .withMessage("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.").endCondition().endStatus()
                .build());
        setJobStatus(new JobStatusBuilder().withActive(1).build());
        JobStatus pending = provisioner.status(handle);
        assertThat(pending.state()).isEqualTo(JobStatus.State.PENDING);
        assertThat(pending.message()).contains("not scheduled", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.");

        client.pods().inNamespace(NAMESPACE).withName(JOB + "-x7k2p").edit(p -> new PodBuilder(p)
                .editSpec().withNodeName("gpu-node-1").endSpec()
                .withNewStatus().withPhase("Running").endStatus().build());
        JobStatus running = provisioner.status(handle);
        assertThat(running.state()).isEqualTo(JobStatus.State.RUNNING);
        assertThat(running.device()).isEqualTo("gpu A10G on node gpu-node-1");

        setJobStatus(new JobStatusBuilder().withActive(0).withSucceeded(1).build());
        JobStatus done = provisioner.status(handle);
        assertThat(done.state()).isEqualTo(JobStatus.State.SUCCEEDED);
        assertThat(done.exitCode()).isZero();
    }

    @Test
    void aFailedJobReportsItsContainersExitStatus() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, "A10G", false));
        createPod(new PodBuilder(pod()).editSpec().withNodeName("gpu-node-1").endSpec().editStatus()
                .withPhase("Failed").addNewContainerStatus().withName("job").withNewState().withNewTerminated()
                .withExitCode(3).withReason("Error").endTerminated().endState().endContainerStatus().endStatus()
                .build());
        setJobStatus(new JobStatusBuilder().withFailed(1).addNewCondition().withType("Failed").withStatus("True")
                .withReason("BackoffLimitExceeded").endCondition().build());

        JobStatus failed = provisioner.status(handle);

        assertThat(failed.state()).isEqualTo(JobStatus.State.FAILED);
        assertThat(failed.exitCode()).isEqualTo(3);
        assertThat(failed.message()).isEqualTo("exited with status 3");
        assertThat(failed.device()).isEqualTo("gpu A10G on node gpu-node-1");
    }

    @Test
    void aJobPastItsDeadlineFailsWithDeadlineExceeded() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, null, false));
        setJobStatus(new JobStatusBuilder().withFailed(1).addNewCondition().withType("Failed").withStatus("True")
                .withReason("DeadlineExceeded").withMessage("Job was active longer than specified deadline")
                .endCondition().build());

        JobStatus failed = provisioner.status(handle);

        assertThat(failed.state()).isEqualTo(JobStatus.State.FAILED);
        assertThat(failed.message()).startsWith("DeadlineExceeded").contains("5400 s");
    }

    @Test
    void logsAreReadFromOffsetsAndCompleteOnceTheJobEnded() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, null, false));
        assertThat(provisioner.logs(handle, 0)).isEqualTo(new LogChunk("", 0, false));
        createPod(new PodBuilder(pod()).editStatus().withPhase("Running").endStatus().build());
        String logPath = "/api/v1/namespaces/" + NAMESPACE + "/pods/" + JOB + "-x7k2p/log?pretty=false";
        server.expect().get().withPath(logPath).andReturn(200, "epoch 1\n").once();
        server.expect().get().withPath(logPath).andReturn(200, "epoch 1\nepoch 2 ✓\n").times(2);

        LogChunk first = provisioner.logs(handle, 0);
        assertThat(first).isEqualTo(new LogChunk("epoch 1\n", 8, false));
        LogChunk second = provisioner.logs(handle, first.nextOffset());
        assertThat(second).isEqualTo(new LogChunk("epoch 2 ✓\n", 18, false));

        setJobStatus(new JobStatusBuilder().withSucceeded(1).build());
        assertThat(provisioner.logs(handle, second.nextOffset())).isEqualTo(new LogChunk("", 18, true));
    }

    @Test
    void cancelDeletesTheJobWithItsPodsAndMayBeRepeated() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, "A10G", false));

        provisioner.cancel(handle);

        RecordedRequest delete = server.getLastRequest();
        assertThat(delete.getMethod()).isEqualTo("DELETE");
        assertThat(delete.getPath()).isEqualTo("/apis/batch/v1/namespaces/" + NAMESPACE + "/jobs/" + JOB);
        assertThat(delete.getBody().readUtf8()).contains("\"propagationPolicy\":\"Background\"");
        assertThat(client.batch().v1().jobs().inNamespace(NAMESPACE).withName(JOB).get()).isNull();
        assertThat(provisioner.status(handle).state()).isEqualTo(JobStatus.State.LOST);

        provisioner.cancel(handle);
    }

    @Test
    void aNewInstanceFindsTheJobAgainFromItsHandle() throws Exception {
        JobHandle handle = provisioner.submit(spec(RUN, "H100", false));
        setJobStatus(new JobStatusBuilder().withActive(1).build());
        createPod(new PodBuilder(pod()).editSpec().withNodeName("big-node-2").endSpec().editStatus()
                .withPhase("Running").endStatus().build());
        provisioner.close();

        // Another namespace in the new configuration: the handle still says where the job is.
        var moved = Specs.settings();
        moved = new KubernetesSettings("elsewhere", moved.image(), moved.command(), moved.gpuNodeSelectors(),
                moved.gpuResource(), moved.tolerations(), null, null, null, Map.of(), null);
        provisioner = new KubernetesProvisioner(moved, server.createClient(), System.getLogger("test"));
        JobHandle stored = new JobHandle(handle.id(), Map.copyOf(handle.attributes()));

        JobStatus status = provisioner.status(stored);

        assertThat(status.state()).isEqualTo(JobStatus.State.RUNNING);
        assertThat(status.device()).isEqualTo("gpu H100 on node big-node-2");
        assertThat(job()).as("close() leaves jobs running").isNotNull();
    }

    @Test
    void gpuTypesCountsAllocatableGpusOnMatchingNodesLessThoseRunningPodsHold() {
        node("a10g-1", "NVIDIA-A10G", Map.of(), "4");
        node("a10g-2", "NVIDIA-A10G", Map.of(), "4");
        node("h100-1", "NVIDIA-H100-80GB-HBM3", Map.of("pool", "big"), "8");
        node("h100-odd", "NVIDIA-H100-80GB-HBM3", Map.of(), "8");
        gpuPod("busy", "a10g-1", "Running", "2");
        gpuPod("done", "a10g-2", "Succeeded", "1");

        assertThat(provisioner.gpuTypes()).containsExactlyInAnyOrder(
                new GpuType("A10G", 6, "8 x nvidia.com/gpu on 2 nodes with nvidia.com/gpu.product=NVIDIA-A10G"),
                new GpuType("H100", 8, "8 x nvidia.com/gpu on 1 node with "
                        + "nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3,pool=big"));
    }

    private Job job() {
        return client.batch().v1().jobs().inNamespace(NAMESPACE).withName(JOB).get();
    }

    private void setJobStatus(io.fabric8.kubernetes.api.model.batch.v1.JobStatus status) {
        Job job = job();
        job.setStatus(status);
        client.batch().v1().jobs().inNamespace(NAMESPACE).resource(job).updateStatus();
        assertThat(job().getStatus()).isEqualTo(status);
    }

    private static Pod pod() {
        return new PodBuilder().withNewMetadata().withName(JOB + "-x7k2p").withNamespace(NAMESPACE)
                .addToLabels("flywheel.dev/job", JOB).endMetadata()
                .withNewSpec().addNewContainer().withName("job").withImage(IMAGE).endContainer().endSpec()
                .withNewStatus().endStatus().build();
    }

    private void createPod(Pod pod) {
        client.pods().inNamespace(NAMESPACE).resource(pod).create();
    }

    private void node(String name, String product, Map<String, String> extraLabels, String gpus) {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
                .addToLabels("nvidia.com/gpu.product", product).addToLabels(extraLabels).endMetadata()
                .withNewStatus().addToAllocatable("nvidia.com/gpu", new Quantity(gpus)).endStatus().build()).create();
    }

    private void gpuPod(String name, String node, String phase, String gpus) {
        client.pods().inNamespace("other").resource(new PodBuilder().withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withNodeName(node).addNewContainer().withName("c").withNewResources()
                .addToLimits("nvidia.com/gpu", new Quantity(gpus)).endResources().endContainer().endSpec()
                .withNewStatus().withPhase(phase).endStatus().build()).create();
    }

    private static EnvVar env(Container container, String name) {
        return container.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst().orElseThrow();
    }

    private static String secretValue(Secret secret) {
        if (secret.getStringData() != null && secret.getStringData().containsKey("token")) {
            return secret.getStringData().get("token");
        }
        return new String(Base64.getDecoder().decode(secret.getData().get("token")), StandardCharsets.UTF_8);
    }
}
