package dev.flywheel.server.shadow;

import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.registry.ModelVersion;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.server.serving.ModelCache;
import dev.flywheel.server.serving.PredictPayload;
import dev.flywheel.server.serving.Prediction;
import dev.flywheel.server.serving.PredictionService;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A deployment's shadow model: setting, replacing and removing it, and running it on demand on a logged prediction.
 * The shadow runs beside the primary on the same traffic ({@link ShadowRunner}); the live comparison and the
 * promotion decision are the {@code promotion} package's.
 */
public final class ShadowService {

    private final DeploymentService deployments;
    private final RegistryService registry;
    private final ModelCache models;
    private final PredictionService predictions;
    private final ShadowRunner runner;
    private final ShadowStore store;
    private final EventService events;

    public ShadowService(DeploymentService deployments, RegistryService registry, ModelCache models,
            PredictionService predictions, ShadowRunner runner, ShadowStore store, EventService events) {
        this.deployments = deployments;
        this.registry = registry;
        this.models = models;
        this.predictions = predictions;
        this.runner = runner;
        this.store = store;
        this.events = events;
    }

    /**
     * Sets a deployment's shadow. The version must have the primary's labels (the same set, in any order), and is
     * loaded before it is set. A different shadow replaces the current one and restarts the comparison; setting the
     * current shadow again changes nothing.
     *
     * @param reason why, for the event (such as "set by hand" or "made by continuous training")
     */
    public Deployment set(String deploymentId, String modelVersionId, String actor, String reason) {
        Deployment d = deployments.get(deploymentId);
        if (modelVersionId == null || modelVersionId.isBlank()) {
            throw ApiException.badRequest("invalid_field", "model_version_id is required");
        }
        ModelVersion version = registry.versionNamedIn("model_version_id", modelVersionId);
        if (version.id().equals(d.primaryModelVersionId())) {
            throw ApiException.badRequest("invalid_field", "model_version_id: version " + version.id()
                    + " is already the primary of deployment '" + d.name() + "'");
        }
        if (version.id().equals(d.shadowModelVersionId())) {
            return d;
        }
        List<String> primaryLabels = registry.metadataOf(registry.getVersion(d.primaryModelVersionId())).labels();
        List<String> shadowLabels = registry.metadataOf(version).labels();
        if (!new HashSet<>(primaryLabels).equals(new HashSet<>(shadowLabels))
                || primaryLabels.size() != shadowLabels.size()) {
            throw ApiException.badRequest("labels_mismatch", "a shadow must have the primary's labels, so that their "
                    + "predictions can be compared: the primary's are " + primaryLabels + ", version " + version.id()
                    + "'s are " + shadowLabels);
        }
        // Loaded before it is set, so that the first shadow inputs do not all fail while it loads.
        models.get(version.id());
        String previous = d.shadowModelVersionId();
        Deployment after = deployments.changeShadow(deploymentId, previous, version.id())
                .orElseThrow(() -> ApiException.conflict("concurrent_change", "the shadow of deployment '" + d.name()
                        + "' was changed meanwhile; read it again and retry"));
        var data = new LinkedHashMap<String, Object>();
        data.put("shadow_model_version_id", version.id());
        data.put("primary_model_version_id", d.primaryModelVersionId());
        data.put("replaced_shadow_model_version_id", previous);
        data.put("shadow_since", after.shadowSince());
        data.put("reason", reason);
        events.event(previous == null ? "shadow.set" : "shadow.replaced", "version " + version.version() + " of model "
                + version.modelId() + " is now the shadow of deployment '" + d.name() + "'"
                + (previous == null ? "" : ", replacing version " + previous + "; the comparison restarts")
                + " (" + reason + ")")
                .actor(actor).deployment(deploymentId).subject("model_version", version.id()).data(data).record();
        return after;
    }

    /**
     * Removes a deployment's shadow, if it is still {@code expectedShadow} (or whatever it is, when that is
     * {@code null}); removing none changes nothing.
     *
     * @param reason why, for the event
     */
    public Deployment remove(String deploymentId, String expectedShadow, String actor, String reason) {
        Deployment d = deployments.get(deploymentId);
        String shadow = d.shadowModelVersionId();
        if (shadow == null || (expectedShadow != null && !expectedShadow.equals(shadow))) {
            return d;
        }
        Deployment after = deployments.changeShadow(deploymentId, shadow, null)
                .orElseThrow(() -> ApiException.conflict("concurrent_change", "the shadow of deployment '" + d.name()
                        + "' was changed meanwhile; read it again and retry"));
        var data = new LinkedHashMap<String, Object>();
        data.put("shadow_model_version_id", shadow);
        data.put("primary_model_version_id", d.primaryModelVersionId());
        data.put("reason", reason);
        events.event("shadow.removed", "the shadow (version " + shadow + ") of deployment '" + d.name()
                + "' was removed (" + reason + ")").actor(actor).deployment(deploymentId)
                .subject("model_version", shadow).data(data).record();
        return after;
    }

    /**
     * Runs the deployment's current shadow on a logged prediction's stored input now, and stores the result on the
     * prediction (replacing any earlier one).
     */
    public Prediction runOnDemand(String predictionId) {
        Prediction p = predictions.get(predictionId);
        Deployment d = deployments.get(p.deploymentId());
        String shadow = d.shadowModelVersionId();
        if (shadow == null) {
            throw ApiException.conflict("no_shadow", "deployment '" + d.name() + "' has no shadow model; set one "
                    + "with PUT /api/deployments/" + d.id() + "/shadow");
        }
        PredictionService.StoredInput stored = predictions.input(predictionId);
        byte[] bytes;
        try (InputStream in = stored.content()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the input of prediction " + predictionId, e);
        }
        PredictPayload payload = PredictPayload.parse(stored.contentType(), bytes);
        long start = System.nanoTime();
        Prediction.Shadow result = runner.predict(shadow, payload.input());
        runner.record(d.id(), p.label(), result, System.nanoTime() - start);
        if (!store.update(new ShadowResult(p.id(), d.id(), p.label(), result, System.nanoTime()))) {
            throw ApiException.conflict("not_logged_yet", "prediction " + predictionId + " is not written yet; retry");
        }
        return predictions.get(predictionId);
    }
}
