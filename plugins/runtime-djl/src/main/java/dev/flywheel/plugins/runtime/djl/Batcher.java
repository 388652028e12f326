package dev.flywheel.plugins.runtime.djl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Gathers the rows of concurrent requests into shared forward passes.
 *
 * <p>One dispatcher thread per model takes the oldest waiting request, then keeps taking requests until the
 * batch holds {@code maxBatchSize} rows or {@code maxDelay} has passed since it started, runs one forward pass
 * and hands each request its rows' results. A request with more rows than fit is split across consecutive
 * batches. Callers block until their last row is done.
 *
 * <p>Having a single thread run every forward pass is also what makes the model safe for concurrent use: DJL
 * blocks and predictors are not thread-safe, and libtorch parallelises each pass internally anyway.
 */
final class Batcher implements AutoCloseable {

    /** Runs one forward pass: one score row per input row, in order. Called only on the dispatcher thread. */
    @FunctionalInterface
    interface Forward {
        float[][] run(float[][] rows);
    }

    /**
     * What the batcher has done so far.
     *
     * @param forwardPasses the forward passes run
     * @param rows the rows predicted in them
     * @param largestBatch the most rows one pass held
     */
    record Stats(long forwardPasses, long rows, int largestBatch) {}

    private final int maxBatchSize;
    private final long maxDelayNanos;
    private final Forward forward;
    private final LinkedBlockingQueue<Request> queue = new LinkedBlockingQueue<>();
    private final Thread dispatcher;
    private volatile boolean closed;

    private final AtomicLong forwardPasses = new AtomicLong();
    private final AtomicLong rowsPredicted = new AtomicLong();
    private final AtomicInteger largestBatch = new AtomicInteger();

    /**
     * Starts the dispatcher thread.
     *
     * @param name names the thread, for thread dumps
     * @param maxBatchSize the most rows in one forward pass
     * @param maxDelay how long a batch waits for more requests once its first one arrived
     * @param forward the forward pass
     * @param contextLoader the dispatcher's context class loader (DJL looks things up through it)
     */
    Batcher(String name, int maxBatchSize, Duration maxDelay, Forward forward, ClassLoader contextLoader) {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("max batch size must be at least 1, not " + maxBatchSize);
        }
        this.maxBatchSize = maxBatchSize;
        this.maxDelayNanos = Math.max(0, maxDelay.toNanos());
        this.forward = forward;
        this.dispatcher = new Thread(this::dispatch, "flywheel-djl-batcher-" + name);
        dispatcher.setDaemon(true);
        dispatcher.setContextClassLoader(contextLoader);
        dispatcher.start();
    }

    /**
     * Predicts the rows, blocking until they are done.
     *
     * @return one score row per input row
     * @throws IllegalStateException when the batcher is closed, or the forward pass failed
     */
    float[][] submit(float[][] rows) {
        if (rows.length == 0) {
            return new float[0][];
        }
        Request request = new Request(rows);
        if (closed) {
            throw closedException();
        }
        queue.add(request);
        // close() sets the flag before it drains the queue, so a request added after the drain sees the flag
        // here and takes itself back; one that the drain or the dispatcher got is answered by them.
        if (closed && queue.remove(request)) {
            throw closedException();
        }
        try {
            return request.done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a prediction", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                // Rethrown on the caller's thread so that its stack shows where the prediction was asked for.
                throw new IllegalStateException(re.getMessage(), re);
            }
            throw new IllegalStateException("prediction failed", cause);
        }
    }

    /** How many requests wait for the dispatcher right now. */
    int waiting() {
        return queue.size();
    }

    /** Counters of the work done so far. */
    Stats stats() {
        return new Stats(forwardPasses.get(), rowsPredicted.get(), largestBatch.get());
    }

    /** Stops the dispatcher after its current pass; waiting and later requests fail. */
    @Override
    public void close() {
        closed = true;
        dispatcher.interrupt();
        boolean interrupted = false;
        while (dispatcher.isAlive()) {
            try {
                dispatcher.join();
            } catch (InterruptedException e) {
                // The model's native memory is freed after this returns, so the pass must be over first.
                interrupted = true;
            }
        }
        Request left;
        while ((left = queue.poll()) != null) {
            left.done.completeExceptionally(closedException());
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void dispatch() {
        Slice carried = null;
        List<Slice> batch = new ArrayList<>();
        try {
            while (!closed) {
                batch.clear();
                int rows = 0;
                if (carried == null) {
                    carried = new Slice(queue.take(), 0);
                }
                long deadline = System.nanoTime() + maxDelayNanos;
                while (true) {
                    if (!carried.request.done.isDone()) {
                        int take = Math.min(carried.request.rows.length - carried.from, maxBatchSize - rows);
                        batch.add(new Slice(carried.request, carried.from, take));
                        rows += take;
                        int next = carried.from + take;
                        carried = next < carried.request.rows.length ? new Slice(carried.request, next) : null;
                    } else {
                        carried = null; // a request failed in an earlier pass; its remaining rows are moot
                    }
                    if (carried != null || rows >= maxBatchSize) {
                        break;
                    }
                    long wait = deadline - System.nanoTime();
                    // Past the deadline, requests already waiting still join: that costs no latency.
                    Request more = wait > 0 ? queue.poll(wait, TimeUnit.NANOSECONDS) : queue.poll();
                    if (more == null) {
                        break;
                    }
                    carried = new Slice(more, 0);
                }
                if (rows > 0) {
                    run(batch, rows);
                }
            }
        } catch (InterruptedException e) {
            // close() interrupts us; it fails whatever is still queued.
        }
        RuntimeException closedError = closedException();
        for (Slice s : batch) {
            s.request.done.completeExceptionally(closedError);
        }
        if (carried != null) {
            carried.request.done.completeExceptionally(closedError);
        }
    }

    private void run(List<Slice> batch, int rows) {
        float[][] input = new float[rows][];
        int at = 0;
        for (Slice s : batch) {
            System.arraycopy(s.request.rows, s.from, input, at, s.count);
            at += s.count;
        }
        float[][] output;
        try {
            output = forward.run(input);
            if (output.length != rows) {
                throw new IllegalStateException("the model returned " + output.length + " rows for " + rows + " inputs");
            }
        } catch (RuntimeException | Error e) {
            // Even an Error (out of memory, say) fails only this batch: a dead dispatcher would leave every later
            // caller of the model waiting forever.
            for (Slice s : batch) {
                s.request.done.completeExceptionally(e);
            }
            return;
        } finally {
            forwardPasses.incrementAndGet();
            rowsPredicted.addAndGet(rows);
            largestBatch.accumulateAndGet(rows, Math::max);
        }
        at = 0;
        for (Slice s : batch) {
            System.arraycopy(output, at, s.request.results, s.from, s.count);
            at += s.count;
            s.request.filled += s.count;
            if (s.request.filled == s.request.rows.length) {
                s.request.done.complete(s.request.results);
            }
        }
        // Cleared here too so that a batch that is done holds no request while the thread waits for the next.
        batch.clear();
    }

    private static IllegalStateException closedException() {
        return new IllegalStateException("the model has been unloaded");
    }

    /** One caller's rows; {@code filled} is touched only by the dispatcher thread. */
    private static final class Request {
        final float[][] rows;
        final float[][] results;
        final CompletableFuture<float[][]> done = new CompletableFuture<>();
        int filled;

        Request(float[][] rows) {
            this.rows = rows;
            this.results = new float[rows.length][];
        }
    }

    /** The rows {@code [from, from + count)} of a request. */
    private record Slice(Request request, int from, int count) {
        Slice(Request request, int from) {
            this(request, from, request.rows.length - from);
        }
    }
}
