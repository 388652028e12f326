package dev.flywheel.server.shadow;

import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.ModelCache;
import dev.flywheel.server.serving.Prediction;
import dev.flywheel.server.serving.PredictionService;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelOutput;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs deployments' shadow models on the inputs their primaries served, on its own small pool of threads with a
 * bounded queue, so that the shadow never delays, fails or changes a primary answer.
 *
 * <p>On the request thread, {@link #dispatch} only offers the input to the queue (no waiting): when the queue is
 * full the shadow skips that input, which is recorded on the row and counted in {@code flywheel_shadow_skips_total}.
 * A worker runs the shadow model; whatever it throws becomes an {@code error} result (counted in
 * {@code flywheel_shadow_errors_total}), never an exception anywhere else.
 *
 * <p>The result then has to reach the prediction's row, which the group-committing prediction writer inserts on its
 * own schedule. Two cases, decided atomically per prediction in {@link #slots}:
 * <ul>
 *   <li>the result is ready before the writer takes the row: it waits in the slot, and {@link #join} (called by the
 *       writer just before the insert) puts it into the row: no extra statement at all;
 *   <li>the writer took the row first (it left a claim in the slot): the result goes to the {@link ShadowResultWriter},
 *       which batches UPDATEs off the request path and retries until the row is committed.
 * </ul>
 */
public final class ShadowRunner implements PredictionService.ShadowHook, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowRunner.class);
    /** The writer took the row before the result arrived: the result must be written by UPDATE. */
    private static final Object CLAIMED = new Object();
    /** The row will never be written: the result is discarded. */
    private static final Object ABANDONED = new Object();
    private static final Task END = new Task(null, null, null, null, null, 0);

    private final ModelCache models;
    private final ShadowResultWriter results;
    private final MeterRegistry meters;
    private final BlockingQueue<Task> queue;
    private final ConcurrentHashMap<String, Object> slots = new ConcurrentHashMap<>();
    private final List<Thread> workers = new ArrayList<>();
    private final Counter joined;
    private volatile boolean closed;

    private record Task(String predictionId, String deploymentId, String primaryLabel, String shadowVersionId,
            ModelInput input, long queuedAtNanos) {}

    /**
     * Starts the workers.
     *
     * @param threads how many shadow predictions run at once
     * @param capacity how many inputs may wait; beyond it inputs are skipped
     */
    public ShadowRunner(ModelCache models, ShadowResultWriter results, MeterRegistry meters, int threads, int capacity) {
        this.models = models;
        this.results = results;
        this.meters = meters;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.joined = Counter.builder("flywheel.shadow.results.joined")
                .description("shadow results written with their prediction row, saving an UPDATE").register(meters);
        Gauge.builder("flywheel.shadow.queue", queue, BlockingQueue::size)
                .description("inputs waiting for a shadow model").register(meters);
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(this::work, "flywheel-shadow-" + i);
            t.setDaemon(true);
            // The primary's request threads come first when the CPU is contended.
            t.setPriority(Thread.MIN_PRIORITY);
            t.start();
            workers.add(t);
        }
    }

    @Override
    public Prediction dispatch(Deployment d, Prediction p, ModelInput input) {
        String shadow = d.shadowModelVersionId();
        if (shadow == null || closed) {
            return p;
        }
        double rate = d.settings().shadowSampleRate();
        if (rate < 1 && ThreadLocalRandom.current().nextDouble() >= rate) {
            return p;
        }
        var task = new Task(p.id(), d.id(), p.label(), shadow, input, System.nanoTime());
        if (!queue.offer(task)) {
            counter("flywheel.shadow.skips", "inputs the shadow skipped because its queue was full", d.id())
                    .increment();
            return p.withShadow(new Prediction.Shadow(shadow, Prediction.Shadow.SKIPPED, null, null, null, null,
                    "skipped: the shadow queue was full"));
        }
        return p.withShadow(new Prediction.Shadow(shadow, Prediction.Shadow.PENDING, null, null, null, null, null));
    }

    @Override
    public void abandoned(Prediction p) {
        if (p.shadow() == null || !Prediction.Shadow.PENDING.equals(p.shadow().status())) {
            return;
        }
        // A result already waiting is dropped; otherwise the worker drops it when it arrives. A claim stays: the
        // writer took the row, so the result goes to the UPDATE path, which gives up when no row appears.
        slots.compute(p.id(), (k, v) -> v == null ? ABANDONED : v == CLAIMED ? CLAIMED : null);
    }

    /**
     * Called by the prediction writer just before it inserts a row: puts a shadow result that is already there into
     * the row, or leaves a claim so that a later result is written by UPDATE.
     */
    public Prediction join(Prediction row) {
        if (row.shadow() == null || !Prediction.Shadow.PENDING.equals(row.shadow().status())) {
            return row;
        }
        Object[] ready = new Object[1];
        slots.compute(row.id(), (k, v) -> {
            if (v instanceof ShadowResult) {
                ready[0] = v;
                return null;
            }
            return CLAIMED;
        });
        if (ready[0] instanceof ShadowResult r) {
            joined.increment();
            return row.withShadow(r.shadow());
        }
        return row;
    }

    private void work() {
        while (true) {
            Task task;
            try {
                task = queue.take();
            } catch (InterruptedException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            if (task == END) {
                // Let the other workers see it too.
                queue.offer(END);
                return;
            }
            try {
                deliver(run(task));
            } catch (RuntimeException | Error e) {
                LOG.error("the shadow of prediction {} could not be recorded", task.predictionId(), e);
            }
        }
    }

    private ShadowResult run(Task task) {
        long start = System.nanoTime();
        Prediction.Shadow shadow = predict(task.shadowVersionId(), task.input());
        record(task.deploymentId(), task.primaryLabel(), shadow, System.nanoTime() - start);
        return new ShadowResult(task.predictionId(), task.deploymentId(), task.primaryLabel(), shadow,
                System.nanoTime());
    }

    /**
     * Runs a shadow model on one input; whatever goes wrong is an {@code error} result. Also used for the on-demand
     * run of {@code POST /api/predictions/{p}/shadow}.
     */
    Prediction.Shadow predict(String versionId, ModelInput input) {
        long start = System.nanoTime();
        try {
            LoadedModel model = models.get(versionId);
            List<ModelOutput> outputs = model.predict(List.of(input));
            double latencyMs = Math.round((System.nanoTime() - start) / 1_000.0) / 1_000.0;
            if (outputs == null || outputs.size() != 1 || outputs.get(0) == null) {
                return error(versionId, latencyMs, "the shadow model returned "
                        + (outputs == null ? "null" : outputs.size() + " outputs") + " for one input");
            }
            ModelOutput out = outputs.get(0);
            return new Prediction.Shadow(versionId, Prediction.Shadow.OK, out.label(), out.confidence(), out.scores(),
                    latencyMs, null);
        } catch (Exception | LinkageError | StackOverflowError e) {
            double latencyMs = Math.round((System.nanoTime() - start) / 1_000.0) / 1_000.0;
            return error(versionId, latencyMs, e.toString());
        }
    }

    private static Prediction.Shadow error(String versionId, double latencyMs, String why) {
        String message = why.length() > 1000 ? why.substring(0, 1000) : why;
        return new Prediction.Shadow(versionId, Prediction.Shadow.ERROR, null, null, null, latencyMs, message);
    }

    /** Counts a shadow prediction in the metrics. */
    void record(String deploymentId, String primaryLabel, Prediction.Shadow shadow, long nanos) {
        if (Prediction.Shadow.OK.equals(shadow.status())) {
            Timer.builder("flywheel.shadow.latency").description("time the shadow model took per input")
                    .tag("deployment", deploymentId).register(meters).record(nanos, TimeUnit.NANOSECONDS);
            Counter.builder("flywheel.shadow.predictions")
                    .description("shadow predictions by agreement with the primary's label")
                    .tag("deployment", deploymentId)
                    .tag("outcome", shadow.label().equals(primaryLabel) ? "agree" : "disagree")
                    .register(meters).increment();
        } else {
            counter("flywheel.shadow.errors", "shadow predictions that failed", deploymentId).increment();
        }
    }

    private Counter counter(String name, String description, String deploymentId) {
        return Counter.builder(name).description(description).tag("deployment", deploymentId).register(meters);
    }

    private void deliver(ShadowResult result) {
        boolean[] update = new boolean[1];
        slots.compute(result.predictionId(), (k, v) -> {
            if (v == null) {
                return result;
            }
            update[0] = v == CLAIMED;
            return null;
        });
        if (update[0]) {
            results.submit(result);
        }
    }

    /** Inputs waiting for a shadow model. */
    public int queued() {
        return queue.size();
    }

    /**
     * Stops taking inputs; inputs still queued are dropped (their rows keep the {@code pending} status), and a shadow
     * prediction in progress is given a few seconds to finish.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.clear();
        queue.offer(END);
        for (Thread t : workers) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                t.interrupt();
            }
        }
    }
}
