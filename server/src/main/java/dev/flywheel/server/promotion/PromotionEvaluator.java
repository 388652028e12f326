package dev.flywheel.server.promotion;

import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.plugins.ExtensionGateway;
import dev.flywheel.server.scheduling.CoalescingQueue;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.server.shadow.ShadowService;
import dev.flywheel.spi.promotion.PromotionDecision;
import dev.flywheel.spi.promotion.PromotionPolicyFactory;
import dev.flywheel.spi.promotion.ShadowComparison;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks a deployment's promoter about its shadow and acts on the answer, on the configured interval (the
 * {@link PromotionJob}) and right after reviews ({@link #evaluateSoon}); first it checks the bake of a primary promoted
 * automatically, which may roll it back. PROMOTE makes the shadow the primary, REJECT removes it (and remembers why),
 * KEEP_WAITING does nothing.
 *
 * <p>The promoter is a plugin, called through its gateway: created per decision from the stored settings, on a thread
 * of its own within a timeout. Whatever it throws, a hang, or no decision is recorded as a failure while the server
 * goes on ({@link DecisionLog}).
 */
public final class PromotionEvaluator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PromotionEvaluator.class);

    private final ContinuousDeploymentStore store;
    private final DeploymentService deployments;
    private final ShadowService shadows;
    private final ComparisonService comparisons;
    private final PromotionService promotions;
    private final ExtensionGateway<PromotionPolicyFactory> promoters;
    private final DecisionLog decisions;
    private final EventService events;
    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();
    private final CoalescingQueue soon = new CoalescingQueue("flywheel-promotion",
            deploymentId -> evaluate(deploymentId, "review"));

    public PromotionEvaluator(ContinuousDeploymentStore store, DeploymentService deployments, ShadowService shadows,
            ComparisonService comparisons, PromotionService promotions,
            ExtensionGateway<PromotionPolicyFactory> promoters, DecisionLog decisions, EventService events) {
        this.store = store;
        this.deployments = deployments;
        this.shadows = shadows;
        this.comparisons = comparisons;
        this.promotions = promotions;
        this.promoters = promoters;
        this.decisions = decisions;
        this.events = events;
    }

    /** Evaluates a deployment soon on a background thread (after a review); several requests run once. */
    public void evaluateSoon(String deploymentId) {
        soon.submit(deploymentId);
    }

    /**
     * Checks the bake under way, then asks the promoter about the deployment's shadow and acts on its decision. Does
     * nothing when continuous deployment is off; asks nothing when there is no shadow.
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
            Deployment d = promotions.watchBake(cd, deployments.get(deploymentId));
            if (d.shadowModelVersionId() == null) {
                return Optional.empty();
            }
            ShadowComparison comparison = comparisons.forPolicy(d);
            String actor = "promoter:" + cd.promoter();
            PromotionDecision decision;
            try {
                decision = promoters.call(cd.promoter(), cd.settings(), "deciding",
                        (factory, config, context) -> factory.create(config, context).decide(comparison));
            } catch (ExtensionGateway.ExtensionFailure e) {
                // Recorded (and so logged) as an event the first time; a repeat of the same failure is not news.
                if (!decisions.failed(cd, d, actor, e.getMessage())) {
                    LOG.debug("the promoter of deployment {} still fails: {}", deploymentId, e.getMessage());
                }
                return Optional.empty();
            }
            decisions.decided(cd, d, actor, trigger, comparison, decision);
            act(cd, d, actor, comparison, decision);
            return Optional.of(decision);
        }
    }

    private void act(ContinuousDeployment cd, Deployment d, String actor, ShadowComparison comparison,
            PromotionDecision decision) {
        try {
            switch (decision.verdict()) {
                case PROMOTE -> promotions.promoteByPolicy(d, comparison, actor, "promoted by promoter '"
                        + cd.promoter() + "': " + decision.reason());
                case REJECT -> {
                    shadows.remove(d.id(), comparison.shadowVersionId(), actor, "rejected by promoter '"
                            + cd.promoter() + "': " + decision.reason());
                    promotions.turnedAway(d.id(), comparison.shadowVersionId(), Rejection.Verdict.REJECT,
                            decision.reason(), decision.evidence());
                }
                case KEEP_WAITING -> { }
            }
        } catch (ApiException e) {
            // Someone changed the deployment meanwhile (a promotion by hand, another node): the next evaluation
            // sees the new state.
            LOG.info("acting on the {} decision for deployment {} failed: {}", decision.verdict(), d.id(),
                    e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("acting on the {} decision for deployment {} failed", decision.verdict(), d.id(), e);
            events.event("promotion.failed", "the " + decision.verdict() + " decision for the shadow of deployment '"
                    + d.name() + "' could not be carried out: " + e).error().actor(actor).deployment(d.id())
                    .subject("deployment", d.id())
                    .data(Map.of("verdict", decision.verdict().name(), "error", String.valueOf(e))).record();
        }
    }

    @Override
    public void close() {
        soon.close();
    }
}
