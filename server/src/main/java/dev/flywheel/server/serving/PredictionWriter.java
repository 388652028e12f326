package dev.flywheel.server.serving;

import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.persistence.DatabaseAvailability;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes prediction rows in batches with group commit, so that logging a prediction does not cost a database round
 * trip and a commit per request.
 *
 * <p>Requests {@link #submit} their row to a queue and get a future that completes once the row is committed and on
 * disk. One writer thread takes everything queued (up to {@code maxBatch} rows), inserts it with one statement, one
 * commit and one fsync, and completes the futures of that batch. While it commits, new rows queue up and go together
 * in the next batch: under load, many concurrent requests share one commit, and an idle server commits a lone row at
 * once, with no waiting for a batch to fill.
 *
 * <p>A durable request answers only after its future completes; an async one answers at once, so its row must not be
 * dropped afterwards. When the database cannot be reached, durable rows fail at once (their requests answer 503 and
 * acknowledge nothing) while async rows are kept and written when it is back. If a batch fails for another reason,
 * its rows are retried one by one, so one bad row fails only its own request.
 *
 * <p>{@link #close} stops accepting rows, writes everything already accepted, then ends the writer thread; the
 * server closes it after the HTTP server has stopped and before the database.
 */
public final class PredictionWriter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PredictionWriter.class);
    /** Put on the queue by {@link #close}, after which nothing else is; the writer stops when it reaches it. */
    private static final Pending END = new Pending(null, false, null);
    /** How long {@link #close} waits for the last rows (a database outage can hold async rows this long). */
    private static final Duration CLOSE_TIMEOUT = Duration.ofMinutes(2);

    private final PredictionStore store;
    private final DatabaseAvailability database;
    private final int maxBatch;
    private final BlockingQueue<Pending> queue;
    private final Object gate = new Object();
    private final Thread thread;
    private final DistributionSummary batchSizes;
    private final Counter failures;
    /** Async rows that were acknowledged and then could not be stored; the shutdown log says how many. */
    private final AtomicLong acknowledgedLost = new AtomicLong();
    private boolean closed;
    private volatile long closeDeadline = Long.MAX_VALUE;
    /** Set when the writer thread reached END and wrote what it held, rather than died. */
    private volatile boolean finished;
    private volatile UnaryOperator<Prediction> beforeInsert = UnaryOperator.identity();

    private record Pending(Prediction row, boolean acknowledged, CompletableFuture<Void> written) {}

    /**
     * Starts the writer thread.
     *
     * @param store where rows go
     * @param database whether the database can be reached; told of connection failures
     * @param maxBatch the most rows in one statement
     * @param maxQueued the most rows waiting; beyond it, predictions are refused with 503 rather than using unbounded
     *     memory (only async capture can get there: durable requests wait for their row)
     * @param meters where the writer's meters go
     */
    public PredictionWriter(PredictionStore store, DatabaseAvailability database, int maxBatch, int maxQueued,
            MeterRegistry meters) {
        this.store = store;
        this.database = database;
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
     * @param acknowledged whether the caller answers before the row is written (async capture): such a row is kept
     *     through a database outage rather than failed
     * @return completes once the row is committed and on disk, or exceptionally when it could not be stored
     * @throws ApiException 503 when the writer is closed or its queue is full
     */
    public CompletableFuture<Void> submit(Prediction row, boolean acknowledged) {
        var pending = new Pending(row, acknowledged, new CompletableFuture<>());
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
        List<Pending> held = List.of();
        boolean end = false;
        while (!end || !held.isEmpty()) {
            if (end && System.nanoTime() - closeDeadline > 0) {
                lose(held, "the server stopped while the database could not be reached");
                break;
            }
            var batch = new ArrayList<Pending>(maxBatch);
            batch.addAll(held);
            held = List.of();
            if (batch.isEmpty() && !end) {
                try {
                    batch.add(queue.take());
                } catch (InterruptedException e) {
                    // Only close() could interrupt, and it does not: keep going until END.
                    continue;
                }
            }
            queue.drainTo(batch, maxBatch - batch.size());
            end |= batch.remove(END);
            if (!batch.isEmpty()) {
                held = write(batch);
            }
            if (!held.isEmpty()) {
                // The database is down: wait for it (the availability probe says when) instead of spinning.
                database.awaitUp(Duration.ofSeconds(1));
            }
        }
        finished = true;
    }

    /** Writes a batch; returns the acknowledged rows to write again once the database is back. */
    private List<Pending> write(List<Pending> queued) {
        List<Pending> batch = new ArrayList<>(queued.size());
        for (Pending p : queued) {
            Prediction row = p.row();
            try {
                row = beforeInsert.apply(row);
            } catch (RuntimeException e) {
                LOG.warn("completing prediction {} before writing it failed; writing it as it is: {}", row.id(),
                        e.toString());
            }
            batch.add(new Pending(row, p.acknowledged(), p.written()));
        }
        if (!database.isUp()) {
            return holdOrFail(batch);
        }
        try {
            store.insertAll(batch.stream().map(Pending::row).toList());
            batchSizes.record(batch.size());
            batch.forEach(p -> p.written().complete(null));
            return List.of();
        } catch (RuntimeException | Error e) {
            if (unreachable(e)) {
                return holdOrFail(batch);
            }
            if (batch.size() == 1) {
                fail(batch.get(0), e);
                return List.of();
            }
            LOG.warn("writing {} predictions in one batch failed ({}); writing them one by one", batch.size(), e.toString());
        }
        for (int i = 0; i < batch.size(); i++) {
            Pending p = batch.get(i);
            try {
                store.insertAll(List.of(p.row()));
                batchSizes.record(1);
                p.written().complete(null);
            } catch (RuntimeException | Error e) {
                if (unreachable(e)) {
                    return holdOrFail(batch.subList(i, batch.size()));
                }
                fail(p, e);
            }
        }
        return List.of();
    }

    /**
     * While the database cannot be reached: durable rows fail now (nobody has been told they are logged, and their
     * requests should not wait for the outage to end); acknowledged ones are kept.
     */
    private List<Pending> holdOrFail(List<Pending> batch) {
        List<Pending> held = new ArrayList<>();
        for (Pending p : batch) {
            if (p.acknowledged()) {
                held.add(p);
            } else {
                p.written().completeExceptionally(new DatabaseUnavailableException());
            }
        }
        return held;
    }

    private void fail(Pending p, Throwable e) {
        if (isDuplicate(e)) {
            // Written before, by a commit whose answer was lost with its connection; it is stored, as asked.
            p.written().complete(null);
            return;
        }
        failures.increment();
        LOG.error("prediction {} of deployment {} could not be logged: {}", p.row().id(), p.row().deploymentId(),
                e.toString());
        if (p.acknowledged()) {
            acknowledgedLost.incrementAndGet();
        }
        p.written().completeExceptionally(e);
    }

    private void lose(List<Pending> rows, String why) {
        for (Pending p : rows) {
            failures.increment();
            acknowledgedLost.incrementAndGet();
            p.written().completeExceptionally(new DatabaseUnavailableException());
        }
        LOG.error("{} acknowledged predictions could not be logged: {}", rows.size(), why);
    }

    /**
     * Whether a failed insert is the database's absence rather than the rows' fault. A data or constraint error
     * (SQLSTATE class 22 or 23) is the rows'; a connection error is the database's; anything else (a driver's own
     * error, which pgjdbc raises for some broken connections) is settled by asking the database whether it answers.
     */
    private boolean unreachable(Throwable e) {
        if (database.report(e)) {
            return true;
        }
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null
                    && (s.getSQLState().startsWith("22") || s.getSQLState().startsWith("23"))) {
                return false;
            }
        }
        return !database.answers();
    }

    private static boolean isDuplicate(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException s && "23505".equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** A row failed because the database could not be reached. */
    public static final class DatabaseUnavailableException extends RuntimeException {
        DatabaseUnavailableException() {
            super("the database cannot be reached", null, false, false);
        }
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
            closeDeadline = System.nanoTime() + CLOSE_TIMEOUT.toNanos();
            try {
                queue.put(END);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            thread.join(CLOSE_TIMEOUT.plusSeconds(10).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long lost = acknowledgedLost.get();
        if (thread.isAlive() || !finished) {
            LOG.error("the prediction writer did not finish its work; {} predictions may be lost", queue.size());
        } else if (lost > 0) {
            LOG.error("prediction writer stopped; {} acknowledged (async) predictions could not be written", lost);
        } else {
            LOG.info("prediction writer stopped; every accepted prediction is written");
        }
    }
}
