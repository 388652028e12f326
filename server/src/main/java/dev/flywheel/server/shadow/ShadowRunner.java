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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * <p>The forward pass itself costs CPU that the primaries may need. With {@code idlePriority} each worker hands it to
 * a thread of its own that runs at the operating system's lowest priority ({@link IdleThreads}) and calls
 * {@link LoadedModel#predictOnCallingThread}, so that the pass (and libtorch's threads it starts) only gets CPU time
 * the primaries leave idle. That thread does nothing else: the queue, the metrics and the hand-over to the row stay on
 * the worker, so a starved pass never holds a lock a request thread or the prediction writer waits for. On a machine
 * that the primaries keep busy, the shadow then falls behind and skips inputs, which is counted, rather than slowing
 * the primaries.
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
    private final int capacity;
    /**
     * About how many tasks the queue holds, read without its lock: when the shadow is overloaded almost every request
     * would otherwise contend for the queue's lock just to learn that it is full.
     */
    private final AtomicInteger waitingHint = new AtomicInteger();
    private final ConcurrentHashMap<String, Object> slots = new ConcurrentHashMap<>();
    private final List<Thread> workers = new ArrayList<>();
    /** Per worker, the low-priority thread that runs its forward passes; empty when passes run on the workers. */
    private final List<ExecutorService> forwardThreads = new ArrayList<>();
    private final ConcurrentHashMap<String, Counter> skipCounters = new ConcurrentHashMap<>();
    private final Counter joined;
    private volatile boolean closed;

    private record Task(String predictionId, String deploymentId, String primaryLabel, String shadowVersionId,
            ModelInput input, long queuedAtNanos) {}

    /**
     * Starts the workers.
     *
     * @param threads how many shadow predictions run at once
     * @param capacity how many inputs may wait; beyond it inputs are skipped
     * @param idlePriority run the forward passes at the lowest CPU priority rather than on the workers
     */
    public ShadowRunner(ModelCache models, ShadowResultWriter results, MeterRegistry meters, int threads, int capacity,
            boolean idlePriority) {
        this.models = models;
        this.results = results;
        this.meters = meters;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.capacity = capacity;
        this.joined = Counter.builder("flywheel.shadow.results.joined")
                .description("shadow results written with their prediction row, saving an UPDATE").register(meters);
        Gauge.builder("flywheel.shadow.queue", queue, BlockingQueue::size)
                .description("inputs waiting for a shadow model").register(meters);
        for (int i = 0; i < threads; i++) {
            ExecutorService forward = idlePriority
                    ? Executors.newSingleThreadExecutor(new IdleThreads("shadow-pass-" + i + "-"))
                    : null;
            if (forward != null) {
                forwardThreads.add(forward);
            }
            Thread t = new Thread(() -> work(forward), "flywheel-shadow-" + i);
            t.setDaemon(true);
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
        if (waitingHint.get() >= capacity || !queue.offer(task)) {
            // Looked up once per deployment: under overload this runs for almost every request.
            skipCounters.computeIfAbsent(d.id(), id -> counter("flywheel.shadow.skips",
                    "inputs the shadow skipped because its queue was full", id)).increment();
            return p.withShadow(new Prediction.Shadow(shadow, Prediction.Shadow.SKIPPED, null, null, null, null,
                    "skipped: the shadow queue was full"));
        }
        waitingHint.incrementAndGet();
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

    private void work(ExecutorService forward) {
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
            waitingHint.decrementAndGet();
            if (task == END) {
                // Let the other workers see it too.
                queue.offer(END);
                return;
            }
            try {
                deliver(run(task, forward));
            } catch (InterruptedException e) {
                if (closed) {
                    return;
                }
            } catch (RuntimeException | Error e) {
                LOG.error("the shadow of prediction {} could not be recorded", task.predictionId(), e);
            }
        }
    }

    private ShadowResult run(Task task, ExecutorService forward) throws InterruptedException {
        long start = System.nanoTime();
        double waitMs = Math.round((start - task.queuedAtNanos()) / 1_000.0) / 1_000.0;
        Prediction.Shadow shadow;
        if (forward == null) {
            shadow = predict(task.shadowVersionId(), task.input(), true);
        } else {
            Future<Prediction.Shadow> pass = forward.submit(() -> predict(task.shadowVersionId(), task.input(), true));
            try {
                shadow = pass.get();
            } catch (ExecutionException e) {
                // predict() turns every failure into an error result; this is only reached if the thread died.
                shadow = error(task.shadowVersionId(), 0, String.valueOf(e.getCause()));
            }
        }
        record(task.deploymentId(), task.primaryLabel(), shadow, System.nanoTime() - start);
        return new ShadowResult(task.predictionId(), task.deploymentId(), task.primaryLabel(), shadow.withWait(waitMs),
                System.nanoTime());
    }

    /**
     * Runs a shadow model on one input; whatever goes wrong is an {@code error} result. Also used for the on-demand
     * run of {@code POST /api/predictions/{p}/shadow}.
     */
    Prediction.Shadow predict(String versionId, ModelInput input) {
        return predict(versionId, input, false);
    }

    /**
     * Runs a shadow model on one input on the calling thread, at its priority (the backfill's); whatever goes wrong is
     * an {@code error} result.
     */
    Prediction.Shadow predictOnThisThread(String versionId, ModelInput input) {
        return predict(versionId, input, true);
    }

    /**
     * @param onThisThread run the forward pass on the calling thread ({@link LoadedModel#predictOnCallingThread}), so
     *     that it runs at this thread's priority
     */
    private Prediction.Shadow predict(String versionId, ModelInput input, boolean onThisThread) {
        long start = System.nanoTime();
        try {
            LoadedModel model = models.get(versionId);
            List<ModelOutput> outputs = onThisThread ? model.predictOnCallingThread(List.of(input))
                    : model.predict(List.of(input));
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
        for (ExecutorService forward : forwardThreads) {
            forward.shutdown();
        }
    }
}
