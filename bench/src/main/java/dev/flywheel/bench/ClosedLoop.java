package dev.flywheel.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A closed-loop load: a fixed number of threads, each sending its next request as soon as its previous one is
 * answered, so that exactly {@code concurrency} requests are in flight. First a warm-up (JIT, connection set-up,
 * caches), then the measured period; only requests that complete within it are counted. Everything stops by
 * itself at the end of the measured period; a request still in flight then is awaited but not counted.
 *
 * <p>{@link #measuredAtRate} is the paced variant: the same threads send at a fixed total rate instead of as fast as
 * they are answered, which is how latency is judged at a given load rather than at saturation.
 */
public final class ClosedLoop {

    /** One thread's way of making requests; created and closed on that thread. */
    public interface Caller extends AutoCloseable {
        /**
         * Makes one request.
         *
         * @param seq this thread's request number, from 0
         * @return whether it succeeded (any exception also counts as a failure)
         */
        boolean call(long seq) throws Exception;

        @Override
        default void close() throws Exception {}
    }

    /** Makes a thread's caller. */
    @FunctionalInterface
    public interface CallerFactory {
        Caller open(int thread) throws Exception;
    }

    /** Called at the start and at the end of the measured period, to sample what the server says about it. */
    public interface Window {
        void started() throws Exception;

        void ended() throws Exception;
    }

    private static final Window NO_WINDOW = new Window() {
        @Override
        public void started() {}

        @Override
        public void ended() {}
    };

    private ClosedLoop() {}

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        for (long left = nanoTime - System.nanoTime(); left > 0; left = nanoTime - System.nanoTime()) {
            Thread.sleep(Math.max(1, left / 1_000_000), (int) (left % 1_000_000));
        }
    }

    /** Runs the load and returns what was measured. */
    public static PhaseResult run(String scenario, int concurrency, Duration warmup, Duration measure,
            CallerFactory factory) throws Exception {
        return run(scenario, concurrency, warmup, measure, factory, NO_WINDOW);
    }

    /**
     * Runs the load, telling {@code window} when the measured period starts and ends (on this thread, while the
     * load goes on), and returns what was measured.
     */
    public static PhaseResult run(String scenario, int concurrency, Duration warmup, Duration measure,
            CallerFactory factory, Window window) throws Exception {
        return measured(scenario, concurrency, warmup, measure, factory, window).result();
    }

    /**
     * A phase's result with every latency it measured, so that several phases of one condition can be
     * {@link #pool pooled}.
     */
    public record Measured(PhaseResult result, LatencyRecorder latencies) {}

    /** {@link #run(String, int, Duration, Duration, CallerFactory, Window)}, keeping the latencies. */
    public static Measured measured(String scenario, int concurrency, Duration warmup, Duration measure,
            CallerFactory factory, Window window) throws Exception {
        return measured(scenario, concurrency, 0, warmup, measure, factory, window);
    }

    /**
     * A paced load: {@code concurrency} threads send {@code ratePerSecond} requests per second in all, each at its own
     * fixed times (staggered so that the sends spread evenly). A thread whose previous request is still running when
     * the next one is due sends it as soon as it can, and its latency counts from when it was due, not from when it
     * was sent: a slow answer that holds the next request back shows in that request's latency too (no coordinated
     * omission). The throughput is what was answered, which stays at the rate as long as the server keeps up.
     */
    public static Measured measuredAtRate(String scenario, int concurrency, double ratePerSecond, Duration warmup,
            Duration measure, CallerFactory factory, Window window) throws Exception {
        if (!(ratePerSecond > 0)) {
            throw new IllegalArgumentException("the rate must be positive, not " + ratePerSecond);
        }
        return measured(scenario, concurrency, ratePerSecond, warmup, measure, factory, window);
    }

    private static Measured measured(String scenario, int concurrency, double ratePerSecond, Duration warmup,
            Duration measure, CallerFactory factory, Window window) throws Exception {
        // Per thread, the time between two of its sends; 0 for a closed loop.
        long period = ratePerSecond > 0 ? Math.max(1, Math.round(concurrency * 1e9 / ratePerSecond)) : 0;
        var recorders = new ArrayList<LatencyRecorder>();
        long[] errors = new long[concurrency];
        long[] acknowledged = new long[concurrency];
        var ready = new CountDownLatch(concurrency);
        var go = new CountDownLatch(1);
        long[] bounds = new long[3];
        var failure = new AtomicReference<Throwable>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < concurrency; t++) {
            var recorder = new LatencyRecorder();
            recorders.add(recorder);
            int id = t;
            Thread thread = new Thread(() -> {
                try (Caller caller = factory.open(id)) {
                    ready.countDown();
                    go.await();
                    long measureStart = bounds[0];
                    long end = bounds[1];
                    long seq = 0;
                    long now = period > 0 ? bounds[2] + id * period / concurrency : System.nanoTime();
                    while (now < end) {
                        if (period > 0) {
                            for (long left = now - System.nanoTime(); left > 0; left = now - System.nanoTime()) {
                                java.util.concurrent.locks.LockSupport.parkNanos(left);
                            }
                        }
                        boolean ok;
                        try {
                            ok = caller.call(seq++);
                        } catch (Exception e) {
                            ok = false;
                        }
                        long done = System.nanoTime();
                        if (ok) {
                            acknowledged[id]++;
                        }
                        if (done >= measureStart && done < end) {
                            recorder.record(done - now);
                            if (!ok) {
                                errors[id]++;
                            }
                        }
                        now = period > 0 ? now + period : done;
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    ready.countDown();
                }
            }, "load-" + scenario + "-" + t);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        ready.await();
        if (failure.get() != null) {
            go.countDown();
            throw new IllegalStateException("a load thread could not start: " + failure.get(), failure.get());
        }
        long start = System.nanoTime();
        bounds[2] = start;
        bounds[0] = start + warmup.toNanos();
        bounds[1] = bounds[0] + measure.toNanos();
        // The latch's countDown/await pair publishes bounds[] to the load threads.
        go.countDown();
        sleepUntil(bounds[0]);
        window.started();
        sleepUntil(bounds[1]);
        window.ended();
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("a load thread failed: " + failure.get(), failure.get());
        }
        LatencyRecorder all = LatencyRecorder.merge(recorders);
        long errorCount = 0;
        long ackCount = 0;
        for (int t = 0; t < concurrency; t++) {
            errorCount += errors[t];
            ackCount += acknowledged[t];
        }
        double seconds = measure.toNanos() / 1e9;
        long requests = all.count();
        return new Measured(new PhaseResult(scenario, concurrency, seconds, requests, errorCount,
                (requests - errorCount) / seconds, all.quantile(0.5) / 1e6, all.quantile(0.99) / 1e6, all.mean() / 1e6,
                ackCount), all);
    }

    /**
     * Several phases of one condition as one: their latencies merged (percentiles over every request of every
     * phase), their counts and measured seconds added, so the throughput is over the measured time of them all.
     */
    public static PhaseResult pool(String scenario, List<Measured> phases) {
        if (phases.isEmpty()) {
            throw new IllegalArgumentException("nothing to pool");
        }
        LatencyRecorder all = LatencyRecorder.merge(phases.stream().map(Measured::latencies).toList());
        double seconds = 0;
        long requests = 0;
        long errors = 0;
        long acked = 0;
        for (Measured m : phases) {
            seconds += m.result().seconds();
            requests += m.result().requests();
            errors += m.result().errors();
            acked += m.result().acknowledged();
        }
        return new PhaseResult(scenario, phases.get(0).result().concurrency(), seconds, requests, errors,
                (requests - errors) / seconds, all.quantile(0.5) / 1e6, all.quantile(0.99) / 1e6, all.mean() / 1e6,
                acked);
    }

    /**
     * Runs a fixed amount of work instead of a fixed time: {@code concurrency} threads make {@code total} calls in
     * all, each taking the next number of one shared sequence (so {@code seq} passed to the caller is the call's
     * number among all threads, from 0). There is no warm-up: every call is measured, and the throughput is over
     * the whole run. Used to fill a server with data while measuring how fast it takes it.
     */
    public static PhaseResult runCount(String scenario, int concurrency, long total, CallerFactory factory)
            throws Exception {
        var next = new AtomicLong();
        var recorders = new ArrayList<LatencyRecorder>();
        long[] errors = new long[concurrency];
        var failure = new AtomicReference<Throwable>();
        var threads = new ArrayList<Thread>();
        long start = System.nanoTime();
        for (int t = 0; t < concurrency; t++) {
            var recorder = new LatencyRecorder();
            recorders.add(recorder);
            int id = t;
            Thread thread = new Thread(() -> {
                try (Caller caller = factory.open(id)) {
                    for (long seq = next.getAndIncrement(); seq < total; seq = next.getAndIncrement()) {
                        long begin = System.nanoTime();
                        boolean ok;
                        try {
                            ok = caller.call(seq);
                        } catch (Exception e) {
                            ok = false;
                        }
                        recorder.record(System.nanoTime() - begin);
                        if (!ok) {
                            errors[id]++;
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "count-" + scenario + "-" + t);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("a load thread failed: " + failure.get(), failure.get());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        LatencyRecorder all = LatencyRecorder.merge(recorders);
        long errorCount = 0;
        for (long e : errors) {
            errorCount += e;
        }
        long requests = all.count();
        return new PhaseResult(scenario, concurrency, seconds, requests, errorCount, (requests - errorCount) / seconds,
                all.quantile(0.5) / 1e6, all.quantile(0.99) / 1e6, all.mean() / 1e6, requests - errorCount);
    }
}
