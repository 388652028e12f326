package dev.flywheel.server.shadow;

import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.server.serving.PredictPayload;
import dev.flywheel.server.serving.Prediction;
import dev.flywheel.server.serving.PredictionService;
import dev.flywheel.spi.runtime.ModelInput;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the evidence a promotion needs on a machine too busy for the shadow: runs the shadow model on inputs it
 * skipped (its queue was full) once a person has reviewed them, from their stored payloads, and writes the result onto
 * the row, marked as backfilled.
 *
 * <p>Beside the primary the shadow runs at the lowest CPU priority ({@link ShadowRunner}), so on a saturated machine it
 * skips almost every input, and the paired reviewed comparison would never reach {@code min_samples}. Only reviewed
 * predictions count as evidence, and people review at their own pace, far below the traffic's, so running the shadow on
 * exactly those costs little: it runs here at normal priority, but paced to at most {@code percent} of one CPU (after a
 * pass of t ms it sleeps {@code t * (100 - percent) / percent} ms), which bounds what it can take from the primaries.
 *
 * <p>It reads reviews in review order from a cursor per deployment and shadow (the {@code reviewed_at} index), woken by
 * every review and sweeping every deployment with a shadow every {@link #SWEEP} (after a restart the cursors start
 * again at the shadow's start, and rows already backfilled are not selected again). A row whose live result arrives
 * meanwhile keeps it: the write is conditional on the row still missing its answer.
 */
public final class ShadowBackfill implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowBackfill.class);
    static final Duration SWEEP = Duration.ofSeconds(10);
    /** A pending row older than this lost its live result (the result writer gives up after a minute). */
    static final Duration STALE_PENDING = Duration.ofMinutes(2);
    private static final int BATCH = 100;

    private final DeploymentService deployments;
    private final PredictionService predictions;
    private final ShadowRunner runner;
    private final ShadowStore store;
    private final MeterRegistry meters;
    private final Clock clock;
    private final int percent;
    private final ConcurrentHashMap<String, Cursor> cursors = new ConcurrentHashMap<>();
    private final Set<String> woken = ConcurrentHashMap.newKeySet();
    private final Object signal = new Object();
    private final Thread thread;
    private volatile boolean closed;

    /** Where the backfill of one deployment's current shadow has got to, in review order. */
    private record Cursor(String shadowVersionId, Instant shadowSince, Instant reviewedAt, String id) {}

    /**
     * Starts the backfill thread, unless {@code percent} is 0.
     *
     * @param percent the most of one CPU it may use, 0..100
     */
    public ShadowBackfill(DeploymentService deployments, PredictionService predictions, ShadowRunner runner,
            ShadowStore store, MeterRegistry meters, Clock clock, int percent) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("percent must be 0..100, not " + percent);
        }
        this.deployments = deployments;
        this.predictions = predictions;
        this.runner = runner;
        this.store = store;
        this.meters = meters;
        this.clock = clock;
        this.percent = percent;
        this.thread = new Thread(this::run, "flywheel-shadow-backfill");
        this.thread.setDaemon(true);
        if (percent > 0) {
            this.thread.start();
        }
    }

    /** A prediction of the deployment was reviewed: look for skipped inputs soon. Never blocks. */
    public void wake(String deploymentId) {
        if (percent == 0 || closed) {
            return;
        }
        woken.add(deploymentId);
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private void run() {
        long nextSweep = System.nanoTime();
        while (!closed) {
            try {
                synchronized (signal) {
                    if (woken.isEmpty()) {
                        signal.wait(1_000);
                    }
                }
                var due = new LinkedHashSet<String>();
                for (String id : List.copyOf(woken)) {
                    woken.remove(id);
                    due.add(id);
                }
                if (System.nanoTime() - nextSweep >= 0) {
                    nextSweep = System.nanoTime() + SWEEP.toNanos();
                    Set<String> shadowed = new HashSet<>();
                    deployments.shadowed().forEach(d -> shadowed.add(d.id()));
                    due.addAll(shadowed);
                    // Deployments whose shadow went away keep no cursor.
                    cursors.keySet().retainAll(shadowed);
                }
                for (String id : due) {
                    if (closed) {
                        return;
                    }
                    drain(id);
                }
            } catch (InterruptedException e) {
                if (closed) {
                    return;
                }
            } catch (RuntimeException e) {
                // The database may be away for a while; the next round tries again.
                LOG.warn("the shadow backfill could not look for skipped inputs: {}", e.toString());
                pause(5_000);
            }
        }
    }

    /** Backfills one deployment's reviewed, skipped inputs up to now. */
    private void drain(String deploymentId) throws InterruptedException {
        Deployment d;
        try {
            d = deployments.get(deploymentId);
        } catch (ApiException e) {
            cursors.remove(deploymentId);
            return;
        }
        String shadow = d.shadowModelVersionId();
        if (shadow == null || d.shadowSince() == null) {
            cursors.remove(deploymentId);
            return;
        }
        Cursor cursor = cursors.compute(deploymentId, (k, c) -> c != null && c.shadowVersionId().equals(shadow)
                && c.shadowSince().equals(d.shadowSince()) ? c : new Cursor(shadow, d.shadowSince(), d.shadowSince(), ""));
        while (!closed) {
            List<ShadowStore.Missing> missing = store.missing(deploymentId, shadow, cursor.shadowSince(),
                    cursor.reviewedAt(), cursor.id(), clock.instant().minus(STALE_PENDING), BATCH);
            for (ShadowStore.Missing m : missing) {
                if (closed) {
                    return;
                }
                backfill(d, shadow, m);
                cursor = new Cursor(shadow, cursor.shadowSince(), m.reviewedAt(), m.id());
                cursors.put(deploymentId, cursor);
            }
            if (missing.size() < BATCH) {
                return;
            }
        }
    }

    private void backfill(Deployment d, String shadow, ShadowStore.Missing m) throws InterruptedException {
        long start = System.nanoTime();
        ModelInput input;
        try {
            input = PredictPayload.parse(m.inputContentType(), predictions.inputBytes(m.id(), m.inputSha256())).input();
        } catch (NoSuchElementException | ApiException e) {
            // Its input is gone or was never a model input (a logged prediction): nothing to run it on.
            LOG.debug("prediction {} cannot be backfilled: {}", m.id(), e.toString());
            return;
        }
        Prediction.Shadow result = runner.predictOnThisThread(shadow, input).asBackfilled();
        long nanos = System.nanoTime() - start;
        if (store.backfill(m.id(), result)) {
            Counter.builder("flywheel.shadow.backfilled")
                    .description("skipped shadow inputs that were reviewed and run later from their stored payload")
                    .tag("deployment", d.id()).tag("status", result.status()).register(meters).increment();
        }
        // Paced to the share of a CPU it may use.
        long sleepNanos = nanos * (100 - percent) / percent;
        if (sleepNanos > 0) {
            TimeUnit.NANOSECONDS.sleep(Math.min(sleepNanos, TimeUnit.SECONDS.toNanos(5)));
        }
    }

    private void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
