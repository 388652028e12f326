package dev.flywheel.spi.trigger;

/**
 * Decides whether a deployment should be retrained now. The server calls {@link #evaluate} periodically and
 * right after reviews; a call must be quick (it is timed out) and must not block on I/O of its own.
 */
public interface RetrainingTrigger {

    /**
     * Evaluates the condition.
     *
     * @param context read-only facts about the deployment
     * @return whether to fire, why, and the numbers behind it (recorded as the run's evidence)
     */
    TriggerDecision evaluate(TriggerContext context);
}
