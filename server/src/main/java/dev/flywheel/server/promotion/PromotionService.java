package dev.flywheel.server.promotion;

import dev.flywheel.server.ServerVersion;
import dev.flywheel.server.config.Durations;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.plugins.HostExtensionContext;
import dev.flywheel.server.plugins.PluginHost;
import dev.flywheel.server.registry.ModelVersion;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.server.scheduling.Scheduling;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.server.serving.ModelCache;
import dev.flywheel.server.shadow.ShadowService;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.promotion.PromotionDecision;
import dev.flywheel.spi.promotion.PromotionPolicy;
import dev.flywheel.spi.promotion.PromotionPolicyFactory;
import dev.flywheel.spi.promotion.ShadowComparison;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous deployment: what happens to versions made by continuous training ({@link #onNewVersion}), the promoter
 * that decides whether the shadow replaces the primary ({@link #evaluate}, run by a Quartz job per deployment and
 * right after reviews), and promotion and rollback, by hand or by policy.
 *
 * <p>The promoter is a plugin: it is called on its own thread with a timeout, and whatever it throws, or a hang, or a
 * decision that is not one, is recorded as an error event while the server goes on. Every decision is an event with
 * its numbers, except that a {@code KEEP_WAITING} whose numbers did not change since the last recorded decision is not
 * recorded again (see {@link #signature}), so that a schedule of every 30 s does not flood the audit trail.
 */
public final class PromotionService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PromotionService.class);

    public static final List<String> POLICIES = List.of(ContinuousDeployment.SHADOW, ContinuousDeployment.CHAMPION,
            ContinuousDeployment.MANUAL);
    public static final String DEFAULT_PROMOTER = "paired";
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
    /** How long a promoter may take to decide before the call is abandoned and recorded as a failure. */
    static final Duration POLICY_TIMEOUT = Duration.ofSeconds(10);

    private final ContinuousDeploymentStore store;
    private final DeploymentService deployments;
    private final ShadowService shadows;
    private final ComparisonService comparisons;
    private final BakeWatch bakes;
    private final RegistryService registry;
    private final ModelCache models;
    private final PluginHost plugins;
    private final Scheduling scheduling;
    private final EventService events;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Path workRoot;
    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();
    private final Set<String> queued = ConcurrentHashMap.newKeySet();
    private final ExecutorService soon = Executors.newSingleThreadExecutor(daemon("flywheel-promotion"));
    private final ExecutorService calls = Executors.newCachedThreadPool(daemon("flywheel-promoter-call"));

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
            PluginHost plugins, Scheduling scheduling, EventService events, MeterRegistry meters, Clock clock,
            Path workRoot) {
        this.store = store;
        this.deployments = deployments;
        this.shadows = shadows;
        this.comparisons = comparisons;
        this.bakes = bakes;
        this.registry = registry;
        this.models = models;
        this.plugins = plugins;
        this.scheduling = scheduling;
        this.events = events;
        this.meters = meters;
        this.clock = clock;
        this.workRoot = workRoot;
    }

    // ---- configuration -------------------------------------------------------------------------------------------

    /**
     * Sets up or replaces a deployment's continuous deployment. The body holds {@code policy} (default
     * {@code shadow}), {@code promoter} (default {@code paired}), {@code evaluation_interval} (default 30s),
     * {@code rollback} (automatic rollback after an automatic promotion, {@link RollbackSettings}; defaults when
     * absent) and the promoter's own settings, validated against its schema. A new configuration is inactive; a
     * replaced one keeps its state.
     *
     * @throws ApiException 400 naming each wrong field
     */
    public ContinuousDeployment configure(String deploymentId, Map<String, Object> body, String actor) {
        Deployment d = deployments.get(deploymentId);
        var rest = new LinkedHashMap<String, Object>(body == null ? Map.of() : body);
        if (rest.containsKey("active")) {
            throw ApiException.badRequest("invalid_field", "active: turn continuous deployment on or off with PUT "
                    + "/api/deployments/" + deploymentId + "/continuous-deployment/active");
        }
        String policy = text(rest.remove("policy"), "policy", ContinuousDeployment.SHADOW);
        if (!POLICIES.contains(policy)) {
            throw ApiException.badRequest("invalid_field", "policy must be one of " + POLICIES + ": what happens to a "
                    + "version made by continuous training (becomes the shadow, becomes the primary at once, or is "
                    + "only registered)");
        }
        String promoter = text(rest.remove("promoter"), "promoter", DEFAULT_PROMOTER);
        String intervalText = text(rest.remove("evaluation_interval"), "evaluation_interval", "30s");
        Duration interval = Durations.parse("evaluation_interval", intervalText);
        if (interval.compareTo(Duration.ofSeconds(1)) < 0 || interval.compareTo(Duration.ofDays(1)) > 0) {
            throw ApiException.badRequest("invalid_field", "evaluation_interval must be from 1s to 1d");
        }
        RollbackSettings rollback = rollback(rest.remove("rollback"));
        PromotionPolicyFactory factory = factory(promoter, true);
        ExtensionConfig config = validate(factory, promoter, rest);
        store.save(deploymentId, policy, promoter, config.asMap(), interval.toString(), rollback.asMap(), actor,
                clock.instant());
        ContinuousDeployment saved = get(deploymentId);
        var data = new LinkedHashMap<String, Object>();
        data.put("policy", policy);
        data.put("promoter", promoter);
        data.put("settings", config.asMap());
        data.put("evaluation_interval", interval.toString());
        data.put("rollback", rollback.asMap());
        data.put("active", saved.active());
        events.event("continuous_deployment.configured", "continuous deployment of '" + d.name() + "' set up: policy "
                + policy + ", promoter " + promoter + " " + config.asMap()).actor(actor).deployment(deploymentId)
                .subject("deployment", deploymentId).data(data).record();
        if (saved.active()) {
            schedule(saved);
        }
        return saved;
    }

    /** Turns continuous deployment on (the promoter is asked at once, then on its interval) or off. */
    public ContinuousDeployment setActive(String deploymentId, boolean active, String actor) {
        Deployment d = deployments.get(deploymentId);
        ContinuousDeployment cd = get(deploymentId);
        if (cd.active() == active) {
            return cd;
        }
        store.setActive(deploymentId, active, actor, clock.instant());
        cd = get(deploymentId);
        if (active) {
            schedule(cd);
        } else {
            scheduling.cancel(jobName(deploymentId));
            endBake(cd, d, "continuous deployment was turned off");
        }
        events.event(active ? "continuous_deployment.activated" : "continuous_deployment.deactivated",
                "continuous deployment of '" + d.name() + "' turned " + (active ? "on" : "off")).actor(actor)
                .deployment(deploymentId).subject("deployment", deploymentId).record();
        if (active) {
            evaluateSoon(deploymentId);
        }
        return get(deploymentId);
    }

    /** A deployment's continuous deployment; 404 when it is not set up. */
    public ContinuousDeployment get(String deploymentId) {
        deployments.get(deploymentId);
        return store.find(deploymentId).orElseThrow(() -> new ApiException(404, "not_found", "continuous deployment "
                + "of deployment " + deploymentId + " is not set up; set it up with PUT /api/deployments/"
                + deploymentId + "/continuous-deployment"));
    }

    private void schedule(ContinuousDeployment cd) {
        scheduling.every(jobName(cd.deploymentId()), PromotionJob.class, Duration.parse(cd.evaluationInterval()),
                Map.of(PromotionJob.DEPLOYMENT_ID, cd.deploymentId()));
    }

    static String jobName(String deploymentId) {
        return "promotion-" + deploymentId;
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
        return promoteShadow(d, d.shadowModelVersionId(), actor, "manual", "promoted by hand");
    }

    private Deployment promoteShadow(Deployment d, String shadow, String actor, String trigger, String why) {
        Map<String, Object> numbers = numbers(comparisons.forPolicy(d));
        return replacePrimary(d, shadow, actor, trigger, why, numbers);
    }

    private Deployment replacePrimary(Deployment d, String version, String actor, String trigger, String why,
            Map<String, Object> numbers) {
        ModelVersion v;
        try {
            v = registry.getVersion(version);
        } catch (ApiException e) {
            throw ApiException.badRequest("invalid_field", "model_version_id: no model version with id '" + version
                    + "'");
        }
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
    private void endBake(ContinuousDeployment cd, Deployment d, String why) {
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
    private void turnedAway(String deploymentId, String versionId, String verdict, String reason,
            Map<String, Object> evidence) {
        var rejection = new LinkedHashMap<String, Object>();
        rejection.put("model_version_id", versionId);
        rejection.put("verdict", verdict);
        rejection.put("reason", reason);
        rejection.put("evidence", evidence);
        rejection.put("at", clock.instant().toString());
        store.setLastRejection(deploymentId, rejection);
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
    private Deployment watchBake(ContinuousDeployment cd, Deployment d) {
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
                turnedAway(d.id(), b.modelVersionId(), "ROLLED_BACK", checked.reason(), checked.checks());
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

    // ---- decisions -----------------------------------------------------------------------------------------------

    /** Evaluates a deployment soon on a background thread (after a review); several requests run once. */
    public void evaluateSoon(String deploymentId) {
        if (!queued.add(deploymentId)) {
            return;
        }
        try {
            soon.execute(() -> {
                queued.remove(deploymentId);
                try {
                    evaluate(deploymentId, "review");
                } catch (RuntimeException e) {
                    LOG.error("evaluating the shadow of deployment {} failed", deploymentId, e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            queued.remove(deploymentId);
        }
    }

    /**
     * Asks the promoter about the deployment's shadow and acts on its decision: PROMOTE makes the shadow the primary,
     * REJECT removes it, KEEP_WAITING does nothing. Does nothing when continuous deployment is off or there is no
     * shadow.
     *
     * @param trigger what asked: {@code schedule}, {@code review}
     * @return the decision, or empty when none was made
     */
    public Optional<PromotionDecision> evaluate(String deploymentId, String trigger) {
        synchronized (locks.computeIfAbsent(deploymentId, k -> new Object())) {
            Optional<ContinuousDeployment> found = store.find(deploymentId);
            if (found.isEmpty() || !found.get().active()) {
                return Optional.empty();
            }
            ContinuousDeployment cd = found.get();
            Deployment d = watchBake(cd, deployments.get(deploymentId));
            if (d.shadowModelVersionId() == null) {
                return Optional.empty();
            }
            ShadowComparison comparison = comparisons.forPolicy(d);
            String actor = "promoter:" + cd.promoter();
            PromotionDecision decision;
            try {
                decision = decide(cd, comparison);
            } catch (PromoterFailure e) {
                failed(cd, d, actor, e.getMessage());
                return Optional.empty();
            }
            record(cd, d, actor, trigger, comparison, decision);
            try {
                switch (decision.verdict()) {
                    case PROMOTE -> promoteShadow(d, comparison.shadowVersionId(), actor, "policy",
                            "promoted by promoter '" + cd.promoter() + "': " + decision.reason());
                    case REJECT -> {
                        shadows.remove(deploymentId, comparison.shadowVersionId(), actor,
                                "rejected by promoter '" + cd.promoter() + "': " + decision.reason());
                        turnedAway(deploymentId, comparison.shadowVersionId(), "REJECT", decision.reason(),
                                decision.evidence());
                    }
                    case KEEP_WAITING -> { }
                }
            } catch (ApiException e) {
                // Someone changed the deployment meanwhile (a promotion by hand, another node): the next evaluation
                // sees the new state.
                LOG.info("acting on the {} decision for deployment {} failed: {}", decision.verdict(), deploymentId,
                        e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("acting on the {} decision for deployment {} failed", decision.verdict(), deploymentId, e);
                events.event("promotion.failed", "the " + decision.verdict() + " decision for the shadow of deployment '"
                        + d.name() + "' could not be carried out: " + e).error().actor(actor).deployment(deploymentId)
                        .subject("deployment", deploymentId)
                        .data(Map.of("verdict", decision.verdict().name(), "error", String.valueOf(e))).record();
            }
            return Optional.of(decision);
        }
    }

    private PromotionDecision decide(ContinuousDeployment cd, ShadowComparison comparison) throws PromoterFailure {
        PromotionPolicyFactory factory;
        try {
            factory = factory(cd.promoter(), false);
        } catch (ApiException e) {
            throw new PromoterFailure(e.getMessage());
        }
        String plugin = plugins.pluginOf(factory);
        Future<PromotionDecision> call = calls.submit(() -> {
            ExtensionConfig config = factory.configSchema().validate(cd.settings());
            PromotionPolicy policy = factory.create(config, new HostExtensionContext(cd.promoter(),
                    workRoot.resolve(cd.promoter()), clock, ServerVersion.SERVER));
            if (policy == null) {
                throw new IllegalStateException("create returned null");
            }
            return policy.decide(comparison);
        });
        PromotionDecision decision;
        try {
            decision = call.get(POLICY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            call.cancel(true);
            throw new PromoterFailure("promoter '" + cd.promoter() + "' (plugin " + plugin + ") did not decide within "
                    + POLICY_TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw new PromoterFailure("promoter '" + cd.promoter() + "' (plugin " + plugin + ") failed: "
                    + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PromoterFailure("interrupted while waiting for promoter '" + cd.promoter() + "'");
        }
        if (decision == null) {
            throw new PromoterFailure("promoter '" + cd.promoter() + "' (plugin " + plugin + ") returned no decision");
        }
        return decision;
    }

    /** A promoter that could not decide: missing, throwing, hanging or answering nothing. */
    private static final class PromoterFailure extends Exception {
        PromoterFailure(String message) {
            super(message);
        }
    }

    private void failed(ContinuousDeployment cd, Deployment d, String actor, String message) {
        LOG.error("{}", message);
        var last = new LinkedHashMap<String, Object>();
        last.put("verdict", "FAILED");
        last.put("reason", message);
        last.put("signature", "FAILED " + message);
        last.put("at", clock.instant().toString());
        // The same failure every 30 s is one event, not a flood; a new failure, or one after a decision, is recorded.
        if (cd.lastDecision() != null && last.get("signature").equals(cd.lastDecision().get("signature"))) {
            return;
        }
        store.setLastDecision(d.id(), last);
        events.event("promotion.failed", "the shadow of deployment '" + d.name() + "' could not be evaluated: "
                + message).error().actor(actor).deployment(d.id()).subject("deployment", d.id())
                .data(Map.of("promoter", cd.promoter(), "error", message)).record();
    }

    private void record(ContinuousDeployment cd, Deployment d, String actor, String trigger,
            ShadowComparison comparison, PromotionDecision decision) {
        Counter.builder("flywheel.promotion.decisions").description("promoter decisions by verdict")
                .tag("deployment", d.id()).tag("verdict", decision.verdict().name()).register(meters).increment();
        String signature = signature(decision, comparison);
        if (decision.verdict() == PromotionDecision.Verdict.KEEP_WAITING && cd.lastDecision() != null
                && signature.equals(cd.lastDecision().get("signature"))) {
            return;
        }
        var data = new LinkedHashMap<String, Object>();
        data.put("verdict", decision.verdict().name());
        data.put("reason", decision.reason());
        data.put("promoter", cd.promoter());
        data.put("trigger", trigger);
        data.put("primary_model_version_id", comparison.primaryVersionId());
        data.put("shadow_model_version_id", comparison.shadowVersionId());
        data.put("settings", cd.settings());
        data.put("comparison", numbers(comparison));
        data.put("evidence", decision.evidence());
        events.event("promotion.decision", "promoter '" + cd.promoter() + "' decided " + decision.verdict()
                + " for the shadow of deployment '" + d.name() + "': " + decision.reason())
                .actor(actor).deployment(d.id()).subject("model_version", comparison.shadowVersionId()).data(data)
                .record();
        var last = new LinkedHashMap<String, Object>();
        last.put("verdict", decision.verdict().name());
        last.put("reason", decision.reason());
        last.put("evidence", decision.evidence());
        last.put("signature", signature);
        last.put("at", clock.instant().toString());
        store.setLastDecision(d.id(), last);
    }

    /**
     * What makes a decision new: its verdict and reason, and the paired reviewed numbers it rests on. Traffic counts
     * and latencies change with every request and the shadow's age with every second, so they are left out: a
     * KEEP_WAITING is recorded again only when reviews changed the evidence or the reason changed.
     */
    static String signature(PromotionDecision decision, ShadowComparison c) {
        return decision.verdict() + " " + decision.reason() + " " + c.shadowVersionId() + " n=" + c.pairedReviewed()
                + " both=" + c.bothCorrect() + " b=" + c.primaryOnlyCorrect() + " c=" + c.shadowOnlyCorrect()
                + " wrong=" + c.bothWrong();
    }

    /** The comparison's numbers for events, computed here so that they do not depend on the promoter. */
    private static Map<String, Object> numbers(ShadowComparison c) {
        var m = new LinkedHashMap<String, Object>();
        m.put("n", c.pairedReviewed());
        m.put("primary_accuracy", Double.isNaN(c.primaryAccuracy()) ? null : c.primaryAccuracy());
        m.put("shadow_accuracy", Double.isNaN(c.shadowAccuracy()) ? null : c.shadowAccuracy());
        m.put("both_correct", c.bothCorrect());
        m.put("b_primary_only_correct", c.primaryOnlyCorrect());
        m.put("c_shadow_only_correct", c.shadowOnlyCorrect());
        m.put("both_wrong", c.bothWrong());
        m.put("p_value", Statistics.mcNemarExactP(c.primaryOnlyCorrect(), c.shadowOnlyCorrect()));
        m.put("samples_compared", c.samplesCompared());
        m.put("agreements", c.agreements());
        m.put("shadow_requests", c.shadowRequests());
        m.put("shadow_errors", c.shadowErrors());
        m.put("shadow_skips", c.shadowSkips());
        m.put("primary_latency_p95_ms", c.primaryLatencyP95Millis());
        m.put("shadow_latency_p95_ms", c.shadowLatencyP95Millis());
        m.put("latency_probe", ComparisonService.Probe.of(c.latencyProbe()));
        m.put("reviewed_awaiting_shadow", c.reviewedAwaitingShadow());
        m.put("shadow_age", c.shadowAge().toString());
        return m;
    }

    // ---- plumbing ------------------------------------------------------------------------------------------------

    private PromotionPolicyFactory factory(String type, boolean forRequest) {
        Optional<PromotionPolicyFactory> f = plugins.factory(PromotionPolicyFactory.class, type);
        if (f.isEmpty()) {
            List<String> known = plugins.factories(PromotionPolicyFactory.class).stream().map(x -> {
                try {
                    return x.type();
                } catch (RuntimeException | LinkageError e) {
                    return null;
                }
            }).filter(java.util.Objects::nonNull).sorted().toList();
            String message = "promoter: no started plugin provides the promotion policy '" + type + "'; installed: "
                    + known;
            throw forRequest ? ApiException.badRequest("invalid_field", message) : new ApiException(409, "no_promoter",
                    message);
        }
        return f.get();
    }

    private ExtensionConfig validate(PromotionPolicyFactory factory, String type, Map<String, Object> settings) {
        ConfigSchema schema;
        try {
            schema = factory.configSchema();
        } catch (RuntimeException | LinkageError e) {
            throw new ApiException(502, "plugin_failed", "promoter '" + type + "' (plugin "
                    + plugins.pluginOf(factory) + ") cannot describe its settings: " + e);
        }
        try {
            return schema.validate(settings);
        } catch (ConfigValidationException e) {
            var fields = e.errors().stream().map(err -> Map.<String, Object>of("field", err.field(),
                    "message", err.message())).toList();
            throw new ApiException(400, "invalid_field", "settings of promoter '" + type + "': " + e.getMessage(),
                    Map.of("fields", fields));
        }
    }

    private static RollbackSettings rollback(Object value) {
        if (value != null && !(value instanceof Map<?, ?>)) {
            throw ApiException.badRequest("invalid_field", "rollback must be an object such as {\"bake_period\": "
                    + "\"1h\", \"max_accuracy_drop\": 0.05}, or {\"bake_period\": \"0s\"} for none");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> raw = (Map<String, Object>) value;
        try {
            return RollbackSettings.validate(raw);
        } catch (ConfigValidationException e) {
            var fields = e.errors().stream().map(err -> Map.<String, Object>of("field", "rollback." + err.field(),
                    "message", err.message())).toList();
            throw new ApiException(400, "invalid_field", "rollback: " + e.getMessage(), Map.of("fields", fields));
        }
    }

    private static String text(Object value, String field, String dflt) {
        if (value == null) {
            return dflt;
        }
        if (!(value instanceof String s) || s.isBlank()) {
            throw ApiException.badRequest("invalid_field", field + " must be a non-empty string");
        }
        return s;
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() {
        soon.shutdownNow();
        calls.shutdownNow();
    }
}
