package dev.flywheel.server.promotion;

import dev.flywheel.server.events.EventService;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.spi.promotion.PromotionDecision;
import dev.flywheel.spi.promotion.ShadowComparison;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The audit trail of a promoter's decisions: every decision is an event with its numbers and is counted, except that a
 * decision whose {@link #signature} did not change since the last recorded one is only counted, so that an evaluation
 * every few seconds does not flood the events; the last recorded one is kept with continuous deployment for the API.
 */
public final class DecisionLog {

    private final ContinuousDeploymentStore store;
    private final EventService events;
    private final MeterRegistry meters;
    private final Clock clock;

    public DecisionLog(ContinuousDeploymentStore store, EventService events, MeterRegistry meters, Clock clock) {
        this.store = store;
        this.events = events;
        this.meters = meters;
        this.clock = clock;
    }

    /** Records a decision unless it is the same {@code KEEP_WAITING} as the last recorded one. */
    void decided(ContinuousDeployment cd, Deployment d, String actor, String trigger, ShadowComparison comparison,
            PromotionDecision decision) {
        Counter.builder("flywheel.promotion.decisions").description("promoter decisions by verdict")
                .tag("deployment", d.id()).tag("verdict", decision.verdict().name()).register(meters).increment();
        String signature = signature(decision, comparison);
        if (decision.verdict() == PromotionDecision.Verdict.KEEP_WAITING && cd.lastDecision() != null
                && signature.equals(cd.lastDecision().signature())) {
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
        data.put("comparison", ComparisonService.summary(comparison));
        data.put("evidence", decision.evidence());
        events.event("promotion.decision", "promoter '" + cd.promoter() + "' decided " + decision.verdict()
                + " for the shadow of deployment '" + d.name() + "': " + decision.reason())
                .actor(actor).deployment(d.id()).subject("model_version", comparison.shadowVersionId()).data(data)
                .record();
        store.setLastDecision(d.id(), new LastDecision(LastDecision.Verdict.valueOf(decision.verdict().name()),
                decision.reason(), decision.evidence(), signature, clock.instant()));
    }

    /**
     * Records that the promoter gave no decision, unless the last recorded decision is this same failure: a promoter
     * failing every 30 s is one event, not a flood; a new failure, or one after a decision, is recorded.
     *
     * @return whether it was recorded
     */
    boolean failed(ContinuousDeployment cd, Deployment d, String actor, String message) {
        String signature = "FAILED " + message;
        if (cd.lastDecision() != null && signature.equals(cd.lastDecision().signature())) {
            return false;
        }
        store.setLastDecision(d.id(), new LastDecision(LastDecision.Verdict.FAILED, message, Map.of(), signature,
                clock.instant()));
        events.event("promotion.failed", "the shadow of deployment '" + d.name() + "' could not be evaluated: "
                + message).error().actor(actor).deployment(d.id()).subject("deployment", d.id())
                .data(Map.of("promoter", cd.promoter(), "error", message)).record();
        return true;
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
}
