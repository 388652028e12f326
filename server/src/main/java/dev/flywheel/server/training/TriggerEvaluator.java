package dev.flywheel.server.training;

import dev.flywheel.server.events.EventService;
import dev.flywheel.server.feedback.ReviewService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.plugins.ExtensionGateway;
import dev.flywheel.server.scheduling.CoalescingQueue;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import dev.flywheel.spi.trigger.TriggerContext;
import dev.flywheel.spi.trigger.TriggerDecision;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluates the retraining triggers of deployments with active continuous training: periodically (a Quartz job) and
 * right after reviews. When one fires, a run is created with the trigger's reason and evidence — at most one run in
 * flight per deployment, and none within the cooldown after the last one. A trigger that throws, hangs or returns
 * nothing is contained by its gateway: it is timed out and recorded as an error event — once while it keeps failing
 * the same way, not on every interval — and the others still run.
 *
 * <p>A trigger is created for each evaluation from its stored settings (so a changed setting or an upgraded plugin
 * applies at the next one); what it must remember between evaluations it keeps in its work directory.
 */
public final class TriggerEvaluator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TriggerEvaluator.class);

    private final TrainingStore store;
    private final TrainingRunService runs;
    private final ReviewService reviews;
    private final TrainingSamples samples;
    private final ExtensionGateway<RetrainingTriggerFactory> triggers;
    private final EventService events;
    private final Clock clock;
    private final CoalescingQueue soon = new CoalescingQueue("flywheel-trigger-after-review", this::evaluate);

    /** The Quartz job evaluating every active deployment; one node of a cluster at a time. */
    @DisallowConcurrentExecution
    public static final class EvaluationJob implements Job {
        private final TriggerEvaluator evaluator;

        public EvaluationJob(TriggerEvaluator evaluator) {
            this.evaluator = evaluator;
        }

        @Override
        public void execute(JobExecutionContext context) {
            evaluator.evaluateAll();
        }
    }

    public TriggerEvaluator(TrainingStore store, TrainingRunService runs, ReviewService reviews,
            TrainingSamples samples, ExtensionGateway<RetrainingTriggerFactory> triggers, EventService events,
            Clock clock) {
        this.store = store;
        this.runs = runs;
        this.reviews = reviews;
        this.samples = samples;
        this.triggers = triggers;
        this.events = events;
        this.clock = clock;
    }

    /**
     * Evaluates a deployment's triggers shortly, off the caller's thread: reviews call it, and must not wait for a
     * drift statistic. Calls for a deployment already waiting are merged into one.
     */
    public void evaluateSoon(String deploymentId) {
        soon.submit(deploymentId);
    }

    public void evaluateAll() {
        for (String deploymentId : store.activeDeployments()) {
            try {
                evaluate(deploymentId);
            } catch (RuntimeException e) {
                LOG.error("evaluating the triggers of deployment {} failed", deploymentId, e);
            }
        }
    }

    /**
     * Evaluates one deployment's triggers, in order, until one fires.
     *
     * @return the run a trigger started, if any
     */
    public synchronized Optional<TrainingRun> evaluate(String deploymentId) {
        ContinuousTraining c = store.findConfig(deploymentId).orElse(null);
        if (c == null || !c.active()) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        Optional<TrainingRun> last = store.latestRun(deploymentId);
        if (last.isPresent() && !last.get().finished()) {
            return Optional.empty();
        }
        // The cooldown is between triggered runs: a run started by hand (such as one that trains a first version on
        // data of its own) does not hold the triggers back.
        Optional<TrainingRun> lastTriggered = last.isPresent() && !isManual(last.get())
                ? last : store.latestTriggeredRun(deploymentId);
        if (lastTriggered.isPresent() && lastTriggered.get().createdAt().plus(c.cooldown()).isAfter(now)) {
            return Optional.empty();
        }
        Instant since = last.map(TrainingRun::createdAt).orElse(Instant.EPOCH);
        long reviewed = reviews.reviewedSince(deploymentId, since);
        for (int i = 0; i < c.triggers().size(); i++) {
            TriggerSpec spec = c.triggers().get(i);
            TriggerDecision decision = decide(deploymentId, i, spec, now, last.map(TrainingRun::createdAt), reviewed);
            if (decision == null) {
                continue;
            }
            store.saveTriggerState(deploymentId, i, spec.type(), now, decision.fire(), decision.reason(),
                    decision.evidence());
            if (decision.fire()) {
                var evidence = new LinkedHashMap<String, Object>(decision.evidence());
                events.event("training.triggered", spec.type() + " trigger fired: " + decision.reason())
                        .deployment(deploymentId).data(Map.of("trigger", spec.type(), "evidence", evidence)).record();
                try {
                    return Optional.of(runs.create(deploymentId, new TrainingRun.Trigger(spec.type(), decision.reason(),
                            evidence), null, "trigger " + spec.type()));
                } catch (ApiException e) {
                    events.event("training.not_started", "the " + spec.type() + " trigger fired but no run could "
                            + "start: " + e.getMessage()).warning().deployment(deploymentId).record();
                    return Optional.empty();
                }
            }
        }
        return Optional.empty();
    }

    private static boolean isManual(TrainingRun run) {
        return run.trigger() != null && TrainingRunService.MANUAL.equals(run.trigger().type());
    }

    private TriggerDecision decide(String deploymentId, int index, TriggerSpec spec, Instant now,
            Optional<Instant> lastRunAt, long reviewed) {
        String key = deploymentId + " " + index;
        TriggerContext context = new Context(deploymentId, now, lastRunAt, store.lastEvaluated(deploymentId, index),
                reviewed);
        try {
            TriggerDecision d = triggers.call(spec.type(), spec.config(), "evaluating",
                    (factory, config, ctx) -> factory.create(config, ctx).evaluate(context));
            triggers.succeeded(key);
            return d;
        } catch (ExtensionGateway.ExtensionFailure e) {
            if (triggers.failed(key, e.getMessage())) {
                events.event("training.trigger_failed", spec.type() + " trigger: " + e.getMessage()).error()
                        .deployment(deploymentId).data(Map.of("trigger", spec.type())).record();
            } else {
                LOG.debug("{} trigger of deployment {} still failing: {}", spec.type(), deploymentId, e.getMessage());
            }
            return null;
        }
    }

    @Override
    public void close() {
        soon.close();
    }

    /** The read-only view a trigger gets. */
    private final class Context implements TriggerContext {
        private final String deploymentId;
        private final Instant now;
        private final Optional<Instant> lastRunAt;
        private final Optional<Instant> lastEvaluatedAt;
        private final long reviewed;

        Context(String deploymentId, Instant now, Optional<Instant> lastRunAt, Optional<Instant> lastEvaluatedAt,
                long reviewed) {
            this.deploymentId = deploymentId;
            this.now = now;
            this.lastRunAt = lastRunAt;
            this.lastEvaluatedAt = lastEvaluatedAt;
            this.reviewed = reviewed;
        }

        @Override
        public String deploymentId() {
            return deploymentId;
        }

        @Override
        public Instant now() {
            return now;
        }

        @Override
        public Optional<Instant> lastRunAt() {
            return lastRunAt;
        }

        @Override
        public Optional<Instant> lastEvaluatedAt() {
            return lastEvaluatedAt;
        }

        @Override
        public long reviewedSinceLastRun() {
            return reviewed;
        }

        @Override
        public Optional<Sample> referenceSample(int maxSize) {
            return samples.reference(deploymentId, maxSize);
        }

        @Override
        public Sample recentSample(int maxSize) {
            return samples.recent(deploymentId, maxSize);
        }
    }
}
