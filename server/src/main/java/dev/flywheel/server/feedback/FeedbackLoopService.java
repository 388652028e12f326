package dev.flywheel.server.feedback;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.blobs.BlobStore;
import dev.flywheel.server.datasets.DatasetItem;
import dev.flywheel.server.datasets.DatasetService;
import dev.flywheel.server.datasets.DatasetVersion;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.persistence.Ids;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The feedback loop: "production data becomes training data". While a deployment's loop is active, each reviewed
 * prediction that was not rejected becomes exactly one item — its stored input as the asset, the reviewed label as
 * the ground truth, the prediction as provenance — in every attached dataset version, and the prediction becomes
 * {@code SUBMITTED}. While it is inactive, reviews accumulate; turning it on flows what was reviewed meanwhile.
 */
public final class FeedbackLoopService {

    /** Predictions moved per transaction: large enough to be quick, small enough to keep locks short. */
    static final int BATCH = 500;

    private final FeedbackLoopStore store;
    private final BlobStore blobs;
    private final DeploymentService deployments;
    private final DatasetService datasets;
    private final RegistryService registry;
    private final EventService events;
    private final Clock clock;

    public FeedbackLoopService(FeedbackLoopStore store, BlobStore blobs, DeploymentService deployments,
            DatasetService datasets, RegistryService registry, EventService events, Clock clock) {
        this.store = store;
        this.blobs = blobs;
        this.deployments = deployments;
        this.datasets = datasets;
        this.registry = registry;
        this.events = events;
        this.clock = clock;
    }

    /** Sets up the (inactive) loop; doing it again changes nothing. Returns the loop and whether it is new. */
    public Map.Entry<FeedbackLoop, Boolean> setUp(String deploymentId, Principal by) {
        Deployment d = deployments.get(deploymentId);
        boolean created = store.create(deploymentId, by.actor(), clock.instant());
        if (created) {
            events.event("feedback_loop.set_up", "feedback loop of deployment '" + d.name() + "' set up (inactive)")
                    .actor(by.actor()).deployment(deploymentId).record();
        }
        return Map.entry(get(deploymentId), created);
    }

    /** The deployment's feedback loop, if it has one set up. */
    public java.util.Optional<FeedbackLoop> find(String deploymentId) {
        return store.find(deploymentId);
    }

    public FeedbackLoop get(String deploymentId) {
        deployments.get(deploymentId);
        return store.find(deploymentId).orElseThrow(() -> new ApiException(404, "not_found",
                "deployment " + deploymentId + " has no feedback loop; set one up with POST /api/deployments/"
                        + deploymentId + "/feedback-loop"));
    }

    /**
     * Attaches a dataset version. Its label set, if it has one, must hold every label of the deployment's model, or
     * reviewed predictions could not become items of it.
     */
    public FeedbackLoop attach(String deploymentId, String datasetVersionId, Principal by) {
        get(deploymentId);
        if (datasetVersionId == null || datasetVersionId.isBlank()) {
            throw ApiException.badRequest("invalid_field", "dataset_version_id is required");
        }
        DatasetVersion v = datasetVersion(datasetVersionId);
        Deployment d = deployments.get(deploymentId);
        if (v.labels() != null) {
            List<String> modelLabels = registry.metadataOf(registry.getVersion(d.primaryModelVersionId())).labels();
            List<String> missing = modelLabels.stream().filter(l -> !v.labels().contains(l)).toList();
            if (!missing.isEmpty()) {
                throw ApiException.badRequest("invalid_label", "dataset version " + v.id() + " does not allow the "
                        + "model's labels " + missing + "; its labels are " + v.labels());
            }
        }
        if (store.attach(deploymentId, v.id(), by.actor(), clock.instant())) {
            events.event("feedback_loop.attached", "dataset version '" + v.name() + "' attached to the feedback loop")
                    .actor(by.actor()).deployment(deploymentId).subject("dataset_version", v.id()).record();
            flow(deploymentId);
        }
        return get(deploymentId);
    }

    public void detach(String deploymentId, String datasetVersionId, Principal by) {
        get(deploymentId);
        if (!store.detach(deploymentId, datasetVersionId, clock.instant())) {
            throw ApiException.notFound("dataset version attached to this feedback loop", datasetVersionId);
        }
        events.event("feedback_loop.detached", "dataset version " + datasetVersionId + " detached from the feedback loop")
                .actor(by.actor()).deployment(deploymentId).subject("dataset_version", datasetVersionId).record();
    }

    /** Turns the loop on or off; turning it on flows everything reviewed while it was off. */
    public FeedbackLoop setActive(String deploymentId, boolean active, Principal by) {
        FeedbackLoop loop = get(deploymentId);
        if (loop.active() != active) {
            store.setActive(deploymentId, active, clock.instant());
            events.event(active ? "feedback_loop.activated" : "feedback_loop.deactivated",
                    "feedback loop turned " + (active ? "on" : "off")).actor(by.actor()).deployment(deploymentId)
                    .record();
        }
        if (active) {
            flow(deploymentId);
        }
        return get(deploymentId);
    }

    /** Names the training data drift is measured against. */
    public Deployment setReference(String deploymentId, String datasetVersionId, Principal by) {
        deployments.get(deploymentId);
        if (datasetVersionId == null || datasetVersionId.isBlank()) {
            throw ApiException.badRequest("invalid_field", "dataset_version_id is required");
        }
        datasetVersion(datasetVersionId);
        return deployments.setReference(deploymentId, datasetVersionId, by);
    }

    private DatasetVersion datasetVersion(String id) {
        return datasets.versionNamedIn("dataset_version_id", id);
    }

    /**
     * Moves reviewed predictions into the attached dataset versions, in batches, if the loop is active. Idempotent
     * and safe to run concurrently (flows of one deployment take turns on the loop's row lock; a prediction already
     * an item of a version is not added again).
     *
     * @return how many predictions were submitted
     */
    public int flow(String deploymentId) {
        int total = 0;
        var perVersion = new LinkedHashMap<String, Integer>();
        // A version whose label set lost one of the model's labels after it was attached cannot take those items.
        var skipped = new LinkedHashMap<String, Integer>();
        while (true) {
            int moved = store.jdbi().inTransaction(h -> {
                if (!store.lockActive(h, deploymentId)) {
                    return 0;
                }
                List<String> versionIds = store.versions(h, deploymentId);
                if (versionIds.isEmpty()) {
                    return 0;
                }
                List<FeedbackLoopStore.Reviewed> batch = store.reviewed(h, deploymentId, BATCH);
                if (batch.isEmpty()) {
                    return 0;
                }
                List<String> ids = batch.stream().map(FeedbackLoopStore.Reviewed::id).toList();
                // Dataset assets live in the blob store; inputs kept in their row go there now (same address).
                for (FeedbackLoopStore.Reviewed r : batch) {
                    if (r.inputInline() != null) {
                        blobs.put(r.inputInline());
                    }
                }
                Instant now = clock.instant();
                for (String versionId : versionIds) {
                    DatasetVersion v = datasets.version(versionId);
                    Set<String> present = store.alreadyItems(h, versionId, ids);
                    int added = 0;
                    for (FeedbackLoopStore.Reviewed r : batch) {
                        if (present.contains(r.id())) {
                            continue;
                        }
                        if (v.labels() != null && !v.labels().contains(r.label())) {
                            skipped.merge(versionId, 1, Integer::sum);
                            continue;
                        }
                        store.insertItem(h, new DatasetItem(Ids.next("itm"), 0, versionId, r.inputSha256(),
                                r.contentType(), r.size(), r.label(),
                                DatasetService.splitFor(r.inputSha256(), v.validationFraction()), r.id(),
                                "feedback-loop of " + deploymentId, now));
                        added++;
                    }
                    perVersion.merge(versionId, added, Integer::sum);
                }
                return store.markSubmitted(h, ids, now);
            });
            total += moved;
            if (moved < BATCH) {
                break;
            }
        }
        if (total > 0) {
            var data = new LinkedHashMap<String, Object>();
            data.put("submitted", total);
            data.put("items_by_dataset_version", perVersion);
            data.put("skipped_label_not_allowed", skipped);
            var event = events.event("feedback_loop.enriched", total + " reviewed predictions added to "
                    + perVersion.size() + " dataset version(s)").deployment(deploymentId).data(data);
            if (!skipped.isEmpty()) {
                event.warning();
            }
            event.record();
        }
        return total;
    }
}
