package dev.flywheel.server.promotion;

import dev.flywheel.server.config.Durations;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.plugins.ExtensionGateway;
import dev.flywheel.server.scheduling.Scheduling;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.promotion.PromotionPolicyFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deployment's continuous deployment settings ({@code setup_continuous_deployment}): what happens to the versions
 * continuous training makes (the policy), the promoter and its settings, how often it is asked, and automatic rollback
 * after an automatic promotion; and turning it all on or off (which schedules the {@link PromotionJob}).
 */
public final class ContinuousDeploymentService {

    public static final List<String> POLICIES = List.of(ContinuousDeployment.SHADOW, ContinuousDeployment.CHAMPION,
            ContinuousDeployment.MANUAL);
    public static final String DEFAULT_PROMOTER = "paired";

    private final ContinuousDeploymentStore store;
    private final DeploymentService deployments;
    private final ExtensionGateway<PromotionPolicyFactory> promoters;
    private final PromotionService promotions;
    private final PromotionEvaluator evaluator;
    private final Scheduling scheduling;
    private final EventService events;
    private final Clock clock;

    public ContinuousDeploymentService(ContinuousDeploymentStore store, DeploymentService deployments,
            ExtensionGateway<PromotionPolicyFactory> promoters, PromotionService promotions,
            PromotionEvaluator evaluator, Scheduling scheduling, EventService events, Clock clock) {
        this.store = store;
        this.deployments = deployments;
        this.promoters = promoters;
        this.promotions = promotions;
        this.evaluator = evaluator;
        this.scheduling = scheduling;
        this.events = events;
        this.clock = clock;
    }

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
        // What is left are the promoter's own settings, at the top level of the body as the product page has them.
        ExtensionConfig config = promoters.validate(promoter, rest, "promoter", "");
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

    /**
     * Turns continuous deployment on (the promoter is asked at once, then on its interval) or off (which also ends a
     * bake under way: automatic actions stop with it).
     */
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
            promotions.endBake(cd, d, "continuous deployment was turned off");
        }
        events.event(active ? "continuous_deployment.activated" : "continuous_deployment.deactivated",
                "continuous deployment of '" + d.name() + "' turned " + (active ? "on" : "off")).actor(actor)
                .deployment(deploymentId).subject("deployment", deploymentId).record();
        if (active) {
            evaluator.evaluateSoon(deploymentId);
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
}
