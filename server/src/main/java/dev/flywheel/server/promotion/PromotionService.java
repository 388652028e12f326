package dev.flywheel.server.promotion;

import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.registry.ModelVersion;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.server.serving.ModelCache;
import dev.flywheel.server.shadow.ShadowService;
import dev.flywheel.spi.promotion.ShadowComparison;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Changes of a deployment's primary that continuous deployment makes or watches: what happens to a version continuous
 * training just made ({@link #onNewVersion}: the policy), promotion and rollback by hand or by policy, and the bake
 * after an automatic promotion, which rolls a bad primary back by itself ({@link BakeWatch} judges, this acts).
 *
 * <p>Every change is atomic (a conditional update of the deployment, so that two servers cannot both make one) and an
 * event with its numbers.
 */
public final class PromotionService {


    private final ContinuousDeploymentStore store;
    private final DeploymentService deployments;
    private final ShadowService shadows;
    private final ComparisonService comparisons;
    private final BakeWatch bakes;
    private final RegistryService registry;
    private final ModelCache models;
    private final EventService events;
    private final MeterRegistry meters;
    private final Clock clock;

    /**
     * What {@link #onNewVersion} did with a new version.
     *
     * @param policy the policy applied ({@code manual} when continuous deployment is not set up or not active)
     * @param action {@code shadow} (it is the shadow now), {@code promoted} (it is the primary now) or
     *     {@code registered} (nothing else)
     * @param deployment the deployment afterwards
     */
    public record NewVersionOutcome(String policy, String action, Deployment deployment) {}

    public PromotionService(ContinuousDeploymentStore store, DeploymentService deployments, ShadowService shadows,
            ComparisonService comparisons, BakeWatch bakes, RegistryService registry, ModelCache models,
            EventService events, MeterRegistry meters, Clock clock) {
        this.store = store;
        this.deployments = deployments;
        this.shadows = shadows;
        this.comparisons = comparisons;
        this.bakes = bakes;
        this.registry = registry;
        this.models = models;
        this.events = events;
        this.meters = meters;
        this.clock = clock;
    }

    // ---- new versions from continuous training -------------------------------------------------------------------

    /**
     * Applies the deployment's policy to a version continuous training just registered: under {@code shadow} it
     * becomes the shadow (replacing one under evaluation, whose comparison restarts), under {@code champion} the
     * primary at once (the old primary kept for a rollback), under {@code manual} (or when continuous deployment is
     * not set up or not active) it is only registered. An event records what was done.
     *
     * @throws ApiException when the version cannot be used (such as other labels than the primary's); an error event
     *     records it too
     */
    public NewVersionOutcome onNewVersion(String deploymentId, String modelVersionId, String actor) {
        Deployment d = deployments.get(deploymentId);
        Optional<ContinuousDeployment> cd = store.find(deploymentId);
        String policy = cd.filter(ContinuousDeployment::active).map(ContinuousDeployment::policy)
                .orElse(ContinuousDeployment.MANUAL);
        try {
            NewVersionOutcome outcome = switch (policy) {
                case ContinuousDeployment.SHADOW -> new NewVersionOutcome(policy, "shadow",
                        shadows.set(deploymentId, modelVersionId, actor, "made by continuous training"));
                case ContinuousDeployment.CHAMPION -> new NewVersionOutcome(policy, "promoted",
                        replacePrimary(d, modelVersionId, actor, "champion", "made by continuous training; the "
                                + "champion policy promotes it at once", Map.of()));
                default -> new NewVersionOutcome(policy, "registered", d);
            };
            events.event("continuous_deployment.new_version", "new version " + modelVersionId + " of deployment '"
                    + d.name() + "': " + switch (outcome.action()) {
                        case "shadow" -> "set as the shadow (policy shadow)";
                        case "promoted" -> "promoted to primary at once (policy champion)";
                        default -> "registered only (policy " + policy
                                + (cd.isPresent() && !cd.get().active() ? ", continuous deployment is off" : "") + ")";
                    }).actor(actor).deployment(deploymentId).subject("model_version", modelVersionId)
                    .data(Map.of("policy", policy, "action", outcome.action(), "model_version_id", modelVersionId))
                    .record();
            return outcome;
        } catch (ApiException e) {
            events.event("continuous_deployment.failed", "new version " + modelVersionId + " of deployment '"
                    + d.name() + "' could not be applied under policy " + policy + ": " + e.getMessage()).error()
                    .actor(actor).deployment(deploymentId).subject("model_version", modelVersionId)
                    .data(Map.of("policy", policy, "error", e.code(), "message", e.getMessage())).record();
            throw e;
        }
    }

    // ---- promote and rollback ------------------------------------------------------------------------------------

    /** Promotes the deployment's shadow by hand: it becomes the primary, the old primary is kept for a rollback. */
    public Deployment promote(String deploymentId, String actor) {
        Deployment d = deployments.get(deploymentId);
        if (d.shadowModelVersionId() == null) {
            throw ApiException.conflict("no_shadow", "deployment '" + d.name() + "' has no shadow to promote");
        }
        return replacePrimary(d, d.shadowModelVersionId(), actor, "manual", "promoted by hand",
                ComparisonService.summary(comparisons.forPolicy(d)));
    }

    /** Promotes the shadow the promoter decided on, with the comparison it decided on. */
    Deployment promoteByPolicy(Deployment d, ShadowComparison comparison, String actor, String why) {
        return replacePrimary(d, comparison.shadowVersionId(), actor, "policy", why,
                ComparisonService.summary(comparison));
    }

    private Deployment replacePrimary(Deployment d, String version, String actor, String trigger, String why,
            Map<String, Object> numbers) {
        ModelVersion v = registry.versionNamedIn("model_version_id", version);
        if (v.id().equals(d.primaryModelVersionId())) {
            throw ApiException.conflict("already_primary", "version " + v.id() + " is already the primary");
        }
        List<String> primaryLabels = registry.metadataOf(registry.getVersion(d.primaryModelVersionId())).labels();
        List<String> labels = registry.metadataOf(v).labels();
        if (!Set.copyOf(primaryLabels).equals(Set.copyOf(labels))) {
            throw ApiException.badRequest("labels_mismatch", "version " + v.id() + " has the labels " + labels
                    + ", the primary " + primaryLabels + "; a deployment's labels cannot change under its reviews");
        }
        // Loaded before the swap, so that no request after it waits for a load.
        models.get(v.id());
        Deployment after = deployments.replacePrimary(d.id(), d.primaryModelVersionId(), v.id())
                .orElseThrow(() -> ApiException.conflict("concurrent_change", "the primary of deployment '" + d.name()
                        + "' was changed meanwhile; read it again and retry"));
        Counter.builder("flywheel.promotions").description("primary versions replaced, by hand or by policy")
                .tag("deployment", d.id()).tag("trigger", trigger).register(meters).increment();
        var data = new LinkedHashMap<String, Object>();
        data.put("trigger", trigger);
        data.put("primary_model_version_id", v.id());
        data.put("previous_primary_model_version_id", d.primaryModelVersionId());
        data.put("reason", why);
        if (!numbers.isEmpty()) {
            data.put("comparison", numbers);
        }
        events.event("deployment.promoted", "version " + v.version() + " of model " + v.modelId()
                + " is now the primary of deployment '" + d.name() + "' (was " + d.primaryModelVersionId() + "): "
                + why).actor(actor).deployment(d.id()).subject("model_version", v.id()).data(data).record();
        boolean automatic = trigger.equals("policy") || trigger.equals("champion");
        Optional<ContinuousDeployment> cd = store.find(d.id());
        if (cd.isPresent()) {
            if (automatic && cd.get().active() && cd.get().rollbackSettings().enabled()) {
                startBake(d, v.id(), cd.get().rollbackSettings());
            } else {
                endBake(cd.get(), d, "the primary was changed by hand");
            }
        }
        return after;
    }

    /** Puts a primary promoted automatically on probation: {@link #evaluate} watches it until its bake ends. */
    private void startBake(Deployment d, String primary, RollbackSettings settings) {
        Bake bake = bakes.start(d.id(), primary, d.primaryModelVersionId(), settings);
        store.setBake(d.id(), bake);
        var data = new LinkedHashMap<String, Object>();
        data.put("model_version_id", primary);
        data.put("previous_model_version_id", d.primaryModelVersionId());
        data.put("ends_at", bake.endsAt().toString());
        data.put("rollback", settings.asMap());
        events.event("deployment.bake_started", "version " + primary + " of deployment '" + d.name() + "' is watched "
                + "for " + BakeWatch.human(settings.bakePeriod()) + " and rolled back by itself if its errors, "
                + "forward-pass time or reviewed accuracy fall behind version " + d.primaryModelVersionId() + "'s")
                .actor("continuous-deployment").deployment(d.id()).subject("model_version", primary).data(data)
                .record();
    }

    /** Ends a bake under way without a verdict on the model (someone changed the primary, or turned the loop off). */
    void endBake(ContinuousDeployment cd, Deployment d, String why) {
        Bake b = cd.bake();
        if (b == null || !b.baking()) {
            return;
        }
        store.setBake(d.id(), b.with(Bake.ENDED, "The bake ended early: " + why + ".", b.checks(),
                b.servedCountedUntil(), b.served(), clock.instant()));
        events.event("deployment.bake_ended", "the watch over version " + b.modelVersionId() + " of deployment '"
                + d.name() + "' ended early: " + why).actor("continuous-deployment").deployment(d.id())
                .subject("model_version", b.modelVersionId()).data(Map.of("model_version_id", b.modelVersionId()))
                .record();
    }

    /** Remembers why a candidate went, so that the deployment shows it after the version is gone. */
    void turnedAway(String deploymentId, String versionId, Rejection.Verdict verdict, String reason,
            Map<String, Object> evidence) {
        store.setLastRejection(deploymentId, new Rejection(versionId, verdict, reason, evidence, clock.instant()));
    }

    /** Restores the primary a promotion replaced. */
    public Deployment rollback(String deploymentId, String actor) {
        Deployment d = deployments.get(deploymentId);
        Deployment after = restorePrevious(d, actor, "", Map.of());
        store.find(deploymentId).ifPresent(cd -> endBake(cd, d, "it was rolled back by hand"));
        return after;
    }

    private Deployment restorePrevious(Deployment d, String actor, String why, Map<String, Object> extra) {
        String previous = d.previousPrimaryModelVersionId();
        if (previous == null) {
            throw ApiException.conflict("nothing_to_roll_back", "deployment '" + d.name() + "' has no previous primary "
                    + "to restore: it was never promoted, or was already rolled back");
        }
        models.get(previous);
        Deployment after = deployments.rollback(d.id(), d.primaryModelVersionId(), previous)
                .orElseThrow(() -> ApiException.conflict("concurrent_change", "the primary of deployment '" + d.name()
                        + "' was changed meanwhile; read it again and retry"));
        Counter.builder("flywheel.rollbacks").description("promotions undone").tag("deployment", d.id())
                .register(meters).increment();
        var data = new LinkedHashMap<String, Object>();
        data.put("primary_model_version_id", previous);
        data.put("rolled_back_model_version_id", d.primaryModelVersionId());
        data.putAll(extra);
        events.event("deployment.rolled_back", "deployment '" + d.name() + "' rolled back to version " + previous
                + " (from " + d.primaryModelVersionId() + ")" + why).warning().actor(actor).deployment(d.id())
                .subject("model_version", previous).data(data).record();
        return after;
    }

    /**
     * Checks the bake under way, if any: a breach restores the previous primary at once and records why, both as the
     * rollback's event and as the deployment's last rejection; the end of the bake period without one passes it.
     *
     * @return the deployment as it is afterwards
     */
    Deployment watchBake(ContinuousDeployment cd, Deployment d) {
        Bake b = cd.bake();
        if (b == null || !b.baking()) {
            return d;
        }
        if (!b.modelVersionId().equals(d.primaryModelVersionId())
                || !b.previousModelVersionId().equals(d.previousPrimaryModelVersionId())) {
            endBake(cd, d, "the primary was changed by other means");
            return d;
        }
        Bake checked = bakes.check(d.id(), b, cd.rollbackSettings());
        var data = new LinkedHashMap<String, Object>();
        data.put("model_version_id", b.modelVersionId());
        data.put("previous_model_version_id", b.previousModelVersionId());
        data.put("reason", checked.reason());
        data.put("checks", checked.checks());
        switch (checked.status()) {
            case Bake.ROLLED_BACK -> {
                Deployment after;
                try {
                    after = restorePrevious(d, "bake-watch", ": " + checked.reason(), Map.of("trigger", "bake",
                            "reason", checked.reason(), "checks", checked.checks()));
                } catch (ApiException e) {
                    // Changed meanwhile by someone else: nothing to undo any more.
                    endBake(cd, d, "the primary changed while it was being rolled back");
                    return deployments.get(d.id());
                }
                store.setBake(d.id(), checked);
                turnedAway(d.id(), b.modelVersionId(), Rejection.Verdict.ROLLED_BACK, checked.reason(), checked.checks());
                return after;
            }
            case Bake.PASSED -> {
                store.setBake(d.id(), checked);
                events.event("deployment.bake_passed", "version " + b.modelVersionId() + " of deployment '" + d.name()
                        + "' passed its bake: " + checked.reason()).actor("bake-watch").deployment(d.id())
                        .subject("model_version", b.modelVersionId()).data(data).record();
                return d;
            }
            default -> {
                store.setBake(d.id(), checked);
                return d;
            }
        }
    }
}
