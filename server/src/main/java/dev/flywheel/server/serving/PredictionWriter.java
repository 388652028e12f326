package dev.flywheel.server.serving;

import dev.flywheel.server.http.ApiException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes prediction rows in batches with group commit, so that logging a prediction does not cost a database round
 * trip and a commit per request.
 *
 * <p>Requests {@link #submit} their row to a queue and get a future that completes once the row is committed. One
 * writer thread takes everything queued (up to {@code maxBatch} rows), inserts it with one multi-row statement and
 * one commit, and completes the futures of that batch. While it commits, new rows queue up and go together in the
 * next batch: under load, many concurrent requests share one commit, and an idle server commits a lone row at once,
 * with no waiting for a batch to fill.
 *
 * <p>A durable request answers only after its future completes; an async one answers at once. If a batch fails, its
 * rows are retried one by one, so one bad row fails only its own request.
 *
 * <p>{@link #close} stops accepting rows, writes everything already accepted, then ends the writer thread; the
 * server closes it after the HTTP server has stopped and before the database.
 */
public final class PredictionWriter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PredictionWriter.class);
    /** Put on the queue by {@link #close}, after which nothing else is; the writer stops when it reaches it. */
    private static final Pending END = new Pending(null, null);

    private final PredictionStore store;
    private final int maxBatch;
    private final BlockingQueue<Pending> queue;
    private final Object gate = new Object();
    private final Thread thread;
    private final DistributionSummary batchSizes;
    private final Counter failures;
    private boolean closed;
    private volatile UnaryOperator<Prediction> beforeInsert = UnaryOperator.identity();

    private record Pending(Prediction row, CompletableFuture<Void> written) {}

    /**
     * Starts the writer thread.
     *
     * @param store where rows go
     * @param maxBatch the most rows in one statement
     * @param maxQueued the most rows waiting; beyond it, predictions are refused with 503 rather than using unbounded
     *     memory (only async capture can get there: durable requests wait for their row)
     * @param meters where the writer's meters go
     */
    public PredictionWriter(PredictionStore store, int maxBatch, int maxQueued, MeterRegistry meters) {
        this.store = store;
        this.maxBatch = maxBatch;
        this.queue = new LinkedBlockingQueue<>(maxQueued);
        this.batchSizes = DistributionSummary.builder("flywheel.prediction.writer.batch.size")
                .description("rows written per commit by the prediction writer").register(meters);
        this.failures = Counter.builder("flywheel.prediction.writer.failures")
                .description("prediction rows the writer could not store").register(meters);
        Gauge.builder("flywheel.prediction.writer.queue", queue, BlockingQueue::size)
                .description("prediction rows waiting to be written").register(meters);
        this.thread = new Thread(this::run, "flywheel-prediction-writer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * Sets what completes a row just before it is inserted, on the writer thread: the shadow runner adds a shadow
     * result that arrived while the row waited, which saves an UPDATE. It must be quick and must not throw.
     */
    public void beforeInsert(UnaryOperator<Prediction> hook) {
        this.beforeInsert = hook;
    }

    /**
     * Queues a row.
     *
     * @return completes once the row is committed, or exceptionally when it could not be stored
     * @throws ApiException 503 when the writer is closed or its queue is full
     */
    public CompletableFuture<Void> submit(Prediction row) {
        var pending = new Pending(row, new CompletableFuture<>());
        // Under the gate, so that no row can slip in after close() has queued END and be left unwritten.
        synchronized (gate) {
            if (closed) {
                throw new ApiException(503, "shutting_down", "the server is shutting down; the prediction was not logged");
            }
            if (!queue.offer(pending)) {
                throw new ApiException(503, "capture_backlog", "predictions are arriving faster than they can be "
                        + "logged; retry shortly");
            }
        }
        return pending.written();
    }

    private void run() {
        var batch = new ArrayList<Pending>(maxBatch);
        boolean end = false;
        while (!end) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                // Only close() could interrupt, and it does not: keep going until END.
                continue;
            }
            queue.drainTo(batch, maxBatch - 1);
            end = batch.remove(END);
            if (!batch.isEmpty()) {
                write(batch);
            }
            batch.clear();
        }
    }

    private void write(List<Pending> queued) {
        List<Pending> batch = new ArrayList<>(queued.size());
        for (Pending p : queued) {
            Prediction row = p.row();
            try {
                row = beforeInsert.apply(row);
            } catch (RuntimeException e) {
                LOG.warn("completing prediction {} before writing it failed; writing it as it is: {}", row.id(),
                        e.toString());
            }
            batch.add(new Pending(row, p.written()));
        }
        try {
            store.insertAll(batch.stream().map(Pending::row).toList());
            batchSizes.record(batch.size());
            batch.forEach(p -> p.written().complete(null));
            return;
        } catch (RuntimeException | Error e) {
            if (batch.size() == 1) {
                fail(batch.get(0), e);
                return;
            }
            LOG.warn("writing {} predictions in one batch failed ({}); writing them one by one", batch.size(), e.toString());
        }
        for (Pending p : batch) {
            try {
                store.insertAll(List.of(p.row()));
                batchSizes.record(1);
                p.written().complete(null);
            } catch (RuntimeException | Error e) {
                fail(p, e);
            }
        }
    }

    private void fail(Pending p, Throwable e) {
        failures.increment();
        LOG.error("prediction {} of deployment {} could not be logged: {}", p.row().id(), p.row().deploymentId(),
                e.toString());
        p.written().completeExceptionally(e);
    }

    /** Rows waiting to be written. */
    public int queued() {
        return queue.size();
    }

    /** Stops accepting rows, writes every row already accepted, then ends the writer thread. */
    @Override
    public void close() {
        synchronized (gate) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                queue.put(END);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            thread.join(TimeUnit.MINUTES.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.error("the prediction writer did not finish within 2 minutes; {} predictions may be lost", queue.size());
        } else {
            LOG.info("prediction writer stopped; every accepted prediction is written");
        }
    }
}
