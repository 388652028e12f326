package dev.flywheel.server.shadow;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes shadow results that arrived after their prediction row was handed to the prediction writer, in batches of
 * UPDATEs (one JDBC batch, one commit), off the request path: a predict never waits for it.
 *
 * <p>Such a result can overtake its row: the prediction writer may not have committed it yet (it is group-committed,
 * and an async capture does not wait for it). An UPDATE that finds no row is therefore retried a little later, until
 * {@link #ROW_WAIT_NANOS} after the result was made; then the row is taken to be lost (its capture failed) and the
 * result is dropped and counted in {@code flywheel_shadow_results_dropped_total}.
 */
public final class ShadowResultWriter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowResultWriter.class);
    /** How long a result waits for its row: well beyond the prediction writer's commit latency under load. */
    static final long ROW_WAIT_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final ShadowResult END = new ShadowResult(null, null, null, null, 0);

    private final ShadowStore store;
    private final int maxBatch;
    private final BlockingQueue<ShadowResult> queue;
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private final Thread thread;
    private final Counter dropped;
    private final Counter failures;
    private volatile boolean closed;

    private record Waiting(ShadowResult result, long dueNanos) {}

    /**
     * Starts the writer thread.
     *
     * @param maxQueued the most results waiting; beyond it a result is dropped (and counted), never blocking
     */
    public ShadowResultWriter(ShadowStore store, int maxBatch, int maxQueued, MeterRegistry meters) {
        this.store = store;
        this.maxBatch = maxBatch;
        this.queue = new LinkedBlockingQueue<>(maxQueued);
        this.dropped = Counter.builder("flywheel.shadow.results.dropped")
                .description("shadow results not stored: their prediction row never appeared, or the queue was full")
                .register(meters);
        this.failures = Counter.builder("flywheel.shadow.results.failures")
                .description("batches of shadow results the database refused").register(meters);
        Gauge.builder("flywheel.shadow.results.queue", queue, BlockingQueue::size)
                .description("shadow results waiting to be written").register(meters);
        this.thread = new Thread(this::run, "flywheel-shadow-result-writer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Queues a result; never blocks. */
    public void submit(ShadowResult result) {
        if (closed || !queue.offer(result)) {
            dropped.increment();
        }
    }

    private void run() {
        var batch = new ArrayList<ShadowResult>(maxBatch);
        boolean end = false;
        while (!end || !waiting.isEmpty()) {
            try {
                ShadowResult first = end ? null
                        : queue.poll(waiting.isEmpty() ? 1_000 : 50, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, maxBatch - 1);
                }
            } catch (InterruptedException e) {
                continue;
            }
            if (batch.remove(END)) {
                end = true;
            }
            long now = System.nanoTime();
            while (!waiting.isEmpty() && batch.size() < maxBatch
                    && (end || waiting.peekFirst().dueNanos() - now <= 0)) {
                batch.add(waiting.pollFirst().result());
            }
            if (!batch.isEmpty()) {
                write(batch, end);
                batch.clear();
            }
            if (end && !waiting.isEmpty()) {
                // Closing: give rows still being committed a last moment, without spinning.
                sleep();
            }
        }
    }

    private void write(List<ShadowResult> batch, boolean closing) {
        int[] counts;
        try {
            counts = store.updateAll(batch);
        } catch (RuntimeException e) {
            failures.increment();
            LOG.warn("writing {} shadow results failed; retrying them: {}", batch.size(), e.toString());
            counts = new int[batch.size()];
        }
        long now = System.nanoTime();
        for (int i = 0; i < batch.size(); i++) {
            if (counts[i] > 0) {
                continue;
            }
            ShadowResult r = batch.get(i);
            if (now - r.madeAtNanos() > (closing ? TimeUnit.SECONDS.toNanos(5) : ROW_WAIT_NANOS)) {
                dropped.increment();
                LOG.debug("shadow result of prediction {} dropped: its row did not appear", r.predictionId());
            } else {
                waiting.addLast(new Waiting(r, now + RETRY_NANOS));
            }
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Results waiting to be written (queued or waiting for their row). */
    public int pending() {
        return queue.size();
    }

    /** Writes what is queued (giving rows a last few seconds to appear), then ends the writer thread. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            queue.put(END);
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
