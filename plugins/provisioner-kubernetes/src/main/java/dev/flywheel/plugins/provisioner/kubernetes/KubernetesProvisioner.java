package dev.flywheel.plugins.provisioner.kubernetes;

import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuType;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.JobStatus;
import dev.flywheel.spi.provisioner.LogChunk;
import dev.flywheel.spi.provisioner.ProvisioningException;
import dev.flywheel.spi.provisioner.TrainingJobSpec;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs each training job as a Kubernetes {@code batch/v1} Job named after its run. Everything it needs to find a job
 * again (the name and namespace) is in the handle, so a new instance after a server restart carries on where the old
 * one was; {@link #close()} only closes the API client.
 */
public final class KubernetesProvisioner implements GpuProvisioner {

    static final String ATTR_NAMESPACE = "namespace";
    static final String ATTR_DEVICE = "device";

    private final KubernetesSettings settings;
    private final KubernetesClient client;
    private final System.Logger log;

    /**
     * @param settings the parsed configuration
     * @param client the API client; this provisioner closes it on {@link #close()}
     * @param log where to report what the user should know but the SPI cannot return
     */
    public KubernetesProvisioner(KubernetesSettings settings, KubernetesClient client, System.Logger log) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.client = Objects.requireNonNull(client, "client");
        this.log = Objects.requireNonNull(log, "log");
    }

    @Override
    public JobHandle submit(TrainingJobSpec spec) throws ProvisioningException {
        String name = JobNames.jobName(spec.runId());
        JobManifests.Placement placement = placement(spec);
        boolean tokenInSecret = spec.environment().containsKey(JobManifests.TOKEN_ENV);
        Job created;
        try {
            created = client.batch().v1().jobs().inNamespace(settings.namespace())
                    .resource(JobManifests.job(settings, spec, name, placement, tokenInSecret))
                    .create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                throw failure("creating Job " + name, e);
            }
            // The server submits again after an error it thought retryable; the first attempt may have got through.
            return reattach(spec, name, tokenInSecret);
        }
        if (tokenInSecret) {
            try {
                start(spec, created);
            } catch (ProvisioningException e) {
                if (!e.retryable()) {
                    // Nothing will ever start this Job; best effort, since the error at hand matters more.
                    deleteQuietly(name);
                }
                throw e;
            }
        }
        return handle(name, placement.device());
    }

    private JobHandle reattach(TrainingJobSpec spec, String name, boolean tokenInSecret)
            throws ProvisioningException {
        Job existing = getJob(name, settings.namespace());
        if (existing == null) {
            throw new ProvisioningException("Job " + name + " was reported to exist but is gone; try again", true);
        }
        Map<String, String> annotations = existing.getMetadata().getAnnotations();
        String owner = annotations == null ? null : annotations.get(JobManifests.LABEL_RUN_ID);
        if (!spec.runId().equals(owner)) {
            throw new ProvisioningException("a Job named " + name + " already exists in namespace "
                    + settings.namespace() + " but belongs to " + (owner == null ? "no Flywheel run" : "run " + owner)
                    + "; delete it or use another namespace", false);
        }
        if (tokenInSecret) {
            start(spec, existing);
        }
        String device = annotations.get(JobManifests.ANNOTATION_DEVICE);
        return handle(name, device == null ? placement(spec).device() : device);
    }

    /** Creates the token Secret when it is missing, then lets the Job's pod start. Safe to repeat. */
    private void start(TrainingJobSpec spec, Job job) throws ProvisioningException {
        String name = job.getMetadata().getName();
        String secret = JobNames.secretName(name);
        try {
            var secrets = client.secrets().inNamespace(settings.namespace());
            if (secrets.withName(secret).get() == null) {
                secrets.resource(JobManifests.tokenSecret(settings, spec, job)).create();
            }
        } catch (KubernetesClientException e) {
            if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                throw failure("creating Secret " + secret, e);
            }
        }
        if (Boolean.TRUE.equals(job.getSpec().getSuspend())) {
            try {
                client.batch().v1().jobs().inNamespace(settings.namespace()).withName(name)
                        .edit(j -> {
                            j.getSpec().setSuspend(false);
                            return j;
                        });
            } catch (KubernetesClientException e) {
                throw failure("starting Job " + name, e);
            }
        }
    }

    private JobManifests.Placement placement(TrainingJobSpec spec) throws ProvisioningException {
        String type = spec.gpuType();
        if (type == null || type.isBlank()) {
            return new JobManifests.Placement(null, Map.of(), "cpu");
        }
        Map<String, String> selector = settings.gpuNodeSelectors().get(type);
        if (selector != null) {
            return new JobManifests.Placement(type, selector, "gpu " + type);
        }
        String problem = "no node selector configured for GPU type " + type + "; configured: "
                + new java.util.TreeSet<>(settings.gpuNodeSelectors().keySet());
        if (!spec.allowCpuFallback()) {
            throw new ProvisioningException(problem, false);
        }
        return new JobManifests.Placement(null, Map.of(), "cpu (fallback: " + problem + ")");
    }

    @Override
    public JobStatus status(JobHandle handle) throws ProvisioningException {
        String namespace = namespace(handle);
        String device = handle.attributes().get(ATTR_DEVICE);
        Job job = getJob(handle.id(), namespace);
        if (job == null) {
            return new JobStatus(JobStatus.State.LOST, "the Kubernetes Job " + handle.id()
                    + " no longer exists in namespace " + namespace, device, null);
        }
        Pod pod = latestPod(handle.id(), namespace);
        if (pod != null && pod.getSpec() != null && pod.getSpec().getNodeName() != null) {
            device = (device == null ? "" : device + " ") + "on node " + pod.getSpec().getNodeName();
        }
        var status = job.getStatus();
        JobCondition failedCondition = condition(job, "Failed");
        if (status != null && positive(status.getSucceeded()) || condition(job, "Complete") != null) {
            return new JobStatus(JobStatus.State.SUCCEEDED, "the job succeeded", device, 0);
        }
        if (status != null && positive(status.getFailed()) || failedCondition != null) {
            return failed(job, failedCondition, pod, device);
        }
        if (Boolean.TRUE.equals(job.getSpec().getSuspend())) {
            return new JobStatus(JobStatus.State.PENDING, "the Job is suspended (its run token Secret is not in place yet)",
                    device, null);
        }
        if (pod == null) {
            return new JobStatus(JobStatus.State.PENDING, "waiting for the Job's pod to be created", device, null);
        }
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        if ("Running".equals(phase)) {
            return new JobStatus(JobStatus.State.RUNNING, "running in pod " + pod.getMetadata().getName(), device, null);
        }
        return new JobStatus(JobStatus.State.PENDING, pendingReason(pod), device, null);
    }

    private static JobStatus failed(Job job, JobCondition failedCondition, Pod pod, String device) {
        ContainerStateTerminated terminated = termination(pod);
        Integer exitCode = terminated == null ? null : terminated.getExitCode();
        String reason = failedCondition == null ? null : failedCondition.getReason();
        String message;
        if ("DeadlineExceeded".equals(reason)) {
            message = "DeadlineExceeded: the Job ran longer than its deadline of "
                    + job.getSpec().getActiveDeadlineSeconds() + " s";
        } else if (terminated != null) {
            message = "exited with status " + exitCode;
            if (terminated.getReason() != null && !"Error".equals(terminated.getReason())) {
                message += " (" + terminated.getReason() + ")";
            }
        } else if (pod != null && pod.getStatus() != null && pod.getStatus().getReason() != null) {
            // E.g. the pod was evicted before its container ran to an end.
            message = "pod " + pod.getMetadata().getName() + " failed: " + pod.getStatus().getReason()
                    + (pod.getStatus().getMessage() == null ? "" : ": " + pod.getStatus().getMessage());
        } else if (failedCondition != null) {
            message = "the Job failed: " + failedCondition.getReason()
                    + (failedCondition.getMessage() == null ? "" : ": " + failedCondition.getMessage());
        } else {
            message = "the Job failed";
        }
        return new JobStatus(JobStatus.State.FAILED, message, device, exitCode);
    }

    private static String pendingReason(Pod pod) {
        if (pod.getStatus() == null) {
            return "pod " + pod.getMetadata().getName() + " is pending";
        }
        for (ContainerStatus cs : nullToEmpty(pod.getStatus().getContainerStatuses())) {
            ContainerState state = cs.getState();
            if (state != null && state.getWaiting() != null && state.getWaiting().getReason() != null) {
                // ImagePullBackOff, CreateContainerConfigError…: the server's timeout ends these if they persist.
                return "pod " + pod.getMetadata().getName() + " is waiting: " + state.getWaiting().getReason()
                        + (state.getWaiting().getMessage() == null ? "" : ": " + state.getWaiting().getMessage());
            }
        }
        for (PodCondition c : nullToEmpty(pod.getStatus().getConditions())) {
            if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus())) {
                return "pod " + pod.getMetadata().getName() + " is not scheduled"
                        + (c.getMessage() == null ? "" : ": " + c.getMessage());
            }
        }
        return "pod " + pod.getMetadata().getName() + " is pending";
    }

    /**
     * The pod's log from a character offset. The API has no character offsets, so the whole log is fetched on each
     * call and sliced; logs of training jobs are small enough for that, and the kubelet's log rotation caps them.
     */
    @Override
    public LogChunk logs(JobHandle handle, long fromOffset) throws ProvisioningException {
        String namespace = namespace(handle);
        // The job's state is read before the log: if it had ended by then, the log read afterwards is all of it.
        JobStatus status = status(handle);
        boolean ended = status.state().isTerminal();
        Pod pod = latestPod(handle.id(), namespace);
        if (pod == null) {
            return new LogChunk("", fromOffset, ended);
        }
        String text;
        try {
            text = client.pods().inNamespace(namespace).withName(pod.getMetadata().getName()).getLog();
        } catch (KubernetesClientException e) {
            if (e.getCode() == HttpURLConnection.HTTP_BAD_REQUEST || e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
                // 400: the container has not started yet; 404: the pod is gone. Either way there is nothing (more).
                return new LogChunk("", fromOffset, ended);
            }
            throw failure("reading the log of pod " + pod.getMetadata().getName(), e);
        }
        if (text == null || fromOffset >= text.length()) {
            return new LogChunk("", Math.max(fromOffset, 0), ended);
        }
        int from = (int) Math.max(fromOffset, 0);
        return new LogChunk(text.substring(from), text.length(), ended);
    }

    @Override
    public void cancel(JobHandle handle) throws ProvisioningException {
        try {
            // Background propagation deletes the pod too (the default for batch/v1 Jobs would orphan it).
            client.batch().v1().jobs().inNamespace(namespace(handle)).withName(handle.id())
                    .withPropagationPolicy(DeletionPropagation.BACKGROUND)
                    .delete();
        } catch (KubernetesClientException e) {
            if (e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
                throw failure("deleting Job " + handle.id(), e);
            }
        }
    }

    /**
     * One entry per configured GPU type that some node offers, with the GPUs not requested by running pods on
     * those nodes (-1 when pods cannot be listed). Needs cluster-wide read access to nodes; without it, empty.
     */
    @Override
    public List<GpuType> gpuTypes() {
        if (settings.gpuNodeSelectors().isEmpty()) {
            return List.of();
        }
        List<Node> nodes;
        try {
            nodes = client.nodes().list().getItems();
        } catch (KubernetesClientException e) {
            log.log(System.Logger.Level.WARNING, "cannot list nodes to offer GPU types: " + e.getMessage());
            return List.of();
        }
        Map<String, Long> requestedByNode = gpuRequestsByNode();
        var types = new ArrayList<GpuType>();
        settings.gpuNodeSelectors().forEach((type, selector) -> {
            long allocatable = 0;
            long requested = 0;
            int count = 0;
            for (Node node : nodes) {
                Map<String, String> labels = node.getMetadata().getLabels();
                if (labels == null || !labels.entrySet().containsAll(selector.entrySet())) {
                    continue;
                }
                count++;
                allocatable += quantity(node.getStatus() == null || node.getStatus().getAllocatable() == null ? null
                        : node.getStatus().getAllocatable().get(settings.gpuResource()));
                if (requestedByNode != null) {
                    requested += requestedByNode.getOrDefault(node.getMetadata().getName(), 0L);
                }
            }
            if (count == 0) {
                return;
            }
            int available = requestedByNode == null ? -1 : (int) Math.max(0, allocatable - requested);
            types.add(new GpuType(type, available, allocatable + " x " + settings.gpuResource() + " on " + count
                    + (count == 1 ? " node" : " nodes") + " with " + selectorText(selector)));
        });
        return types;
    }

    /** GPUs requested per node by pods that hold them; {@code null} when pods cannot be listed. */
    private Map<String, Long> gpuRequestsByNode() {
        List<Pod> pods;
        try {
            pods = client.pods().inAnyNamespace().list().getItems();
        } catch (KubernetesClientException e) {
            return null;
        }
        var result = new HashMap<String, Long>();
        for (Pod pod : pods) {
            String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
            if (pod.getSpec() == null || pod.getSpec().getNodeName() == null
                    || "Succeeded".equals(phase) || "Failed".equals(phase)) {
                continue;
            }
            long gpus = 0;
            for (var c : nullToEmpty(pod.getSpec().getContainers())) {
                if (c.getResources() != null && c.getResources().getLimits() != null) {
                    gpus += quantity(c.getResources().getLimits().get(settings.gpuResource()));
                }
            }
            if (gpus > 0) {
                result.merge(pod.getSpec().getNodeName(), gpus, Long::sum);
            }
        }
        return result;
    }

    @Override
    public void close() {
        // Jobs keep running: a later instance re-attaches to them by handle.
        client.close();
    }

    private Job getJob(String name, String namespace) throws ProvisioningException {
        try {
            return client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
        } catch (KubernetesClientException e) {
            throw failure("reading Job " + name, e);
        }
    }

    private Pod latestPod(String jobName, String namespace) throws ProvisioningException {
        try {
            return client.pods().inNamespace(namespace).withLabel(JobManifests.LABEL_JOB, jobName).list().getItems()
                    .stream()
                    .max(Comparator.comparing((Pod p) -> Objects.toString(p.getMetadata().getCreationTimestamp(), ""))
                            .thenComparing(p -> p.getMetadata().getName()))
                    .orElse(null);
        } catch (KubernetesClientException e) {
            throw failure("listing the pods of Job " + jobName, e);
        }
    }

    private void deleteQuietly(String name) {
        try {
            client.batch().v1().jobs().inNamespace(settings.namespace()).withName(name)
                    .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
        } catch (KubernetesClientException e) {
            log.log(System.Logger.Level.WARNING, "could not delete Job " + name + " after a failed start: "
                    + e.getMessage());
        }
    }

    private JobHandle handle(String name, String device) {
        return new JobHandle(name, Map.of(ATTR_NAMESPACE, settings.namespace(), ATTR_DEVICE, device));
    }

    private String namespace(JobHandle handle) {
        return handle.attributes().getOrDefault(ATTR_NAMESPACE, settings.namespace());
    }

    /**
     * Turns an API error into the server's terms: authorisation and invalid requests are not worth retrying;
     * overload, server errors and network failures (code 0) are.
     */
    static ProvisioningException failure(String what, KubernetesClientException e) {
        int code = e.getCode();
        String detail = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage()
                : e.getMessage();
        if (code <= 0) {
            // fabric8's own text for network failures ("An error has occurred.") says nothing; the cause does.
            var chain = new ArrayList<String>();
            for (Throwable t = e.getCause(); t != null && chain.size() < 4; t = t.getCause() == t ? null : t.getCause()) {
                chain.add(t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage()));
            }
            if (!chain.isEmpty()) {
                detail = String.join(", caused by ", chain);
            }
        }
        return switch (code) {
            case HttpURLConnection.HTTP_UNAUTHORIZED -> new ProvisioningException("Kubernetes rejected the credentials"
                    + " while " + what + " (401); check the kubeconfig or service account token: " + detail, false, e);
            case HttpURLConnection.HTTP_FORBIDDEN -> new ProvisioningException(what + " is forbidden (403): the"
                    + " account Flywheel uses lacks RBAC permissions (see the provisioner-kubernetes README): "
                    + detail, false, e);
            case HttpURLConnection.HTTP_NOT_FOUND -> new ProvisioningException(what + " failed (404), does the"
                    + " namespace exist? " + detail, false, e);
            case HttpURLConnection.HTTP_BAD_REQUEST, 422 -> new ProvisioningException("Kubernetes refused " + what
                    + " (" + code + "): " + detail, false, e);
            default -> new ProvisioningException(what + " failed" + (code > 0 ? " (" + code + ")" : "") + ": "
                    + detail, true, e);
        };
    }

    private static JobCondition condition(Job job, String type) {
        if (job.getStatus() == null) {
            return null;
        }
        for (JobCondition c : nullToEmpty(job.getStatus().getConditions())) {
            if (type.equals(c.getType()) && "True".equals(c.getStatus())) {
                return c;
            }
        }
        return null;
    }

    private static ContainerStateTerminated termination(Pod pod) {
        if (pod == null || pod.getStatus() == null) {
            return null;
        }
        for (ContainerStatus cs : nullToEmpty(pod.getStatus().getContainerStatuses())) {
            if (JobManifests.CONTAINER.equals(cs.getName()) && cs.getState() != null
                    && cs.getState().getTerminated() != null) {
                return cs.getState().getTerminated();
            }
        }
        return null;
    }

    private static boolean positive(Integer n) {
        return n != null && n > 0;
    }

    private static long quantity(Quantity q) {
        if (q == null) {
            return 0;
        }
        try {
            return Quantity.getAmountInBytes(q).setScale(0, java.math.RoundingMode.FLOOR).longValue();
        } catch (ArithmeticException | IllegalArgumentException e) {
            return 0;
        }
    }

    private static String selectorText(Map<String, String> selector) {
        var parts = new ArrayList<String>();
        selector.forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(",", parts);
    }

    private static <T> List<T> nullToEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }
}
