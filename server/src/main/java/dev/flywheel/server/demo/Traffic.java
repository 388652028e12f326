package dev.flywheel.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Production traffic: a few threads predicting through the deployment at a steady rate, first {@code calm} inputs
 * from the original world, then from the drifted world until stopped or {@code maxDrifted} were sent. It remembers each
 * prediction's true label (the reviewer needs it) and counts, per serving model version, how often the deployment's
 * answer was right on each world: those counts are the demo's before/after accuracy, measured on what the server
 * answered.
 */
final class Traffic implements AutoCloseable {

    private final FlywheelClient client;
    private final String deploymentId;
    private final World world;
    private final long calm;
    private final long maxDrifted;
    private final double perSecond;
    private final int threadCount;
    private final ExecutorService threads;
    private final AtomicLong issued = new AtomicLong();
    private final LongAdder answered = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final AtomicReference<String> firstError = new AtomicReference<>();
    private final Map<String, String> truth = new ConcurrentHashMap<>();
    private final Map<String, Score> drifted = new ConcurrentHashMap<>();
    private final Map<String, Score> original = new ConcurrentHashMap<>();
    private volatile boolean stopped;
    private long startNanos;

    /** Right answers of one model version on one world. */
    static final class Score {
        final LongAdder right = new LongAdder();
        final LongAdder total = new LongAdder();

        double accuracy() {
            long t = total.sum();
            return t == 0 ? Double.NaN : (double) right.sum() / t;
        }
    }

    Traffic(FlywheelClient client, String deploymentId, World world, long calm, long maxDrifted,
            double perSecond, int threadCount) {
        this.client = client;
        this.deploymentId = deploymentId;
        this.world = world;
        this.calm = calm;
        this.maxDrifted = maxDrifted;
        this.perSecond = perSecond;
        this.threads = Executors.newFixedThreadPool(threadCount, r -> {
            Thread t = new Thread(r, "demo-traffic");
            t.setDaemon(true);
            return t;
        });
        this.threadCount = threadCount;
    }

    void start() {
        startNanos = System.nanoTime();
        for (int i = 0; i < threadCount; i++) {
            threads.execute(this::loop);
        }
    }

    private void loop() {
        while (!stopped) {
            long n = issued.getAndIncrement();
            if (n >= calm + maxDrifted) {
                return;
            }
            // A fixed schedule shared by the threads: request n goes out at start + n / rate.
            long due = startNanos + (long) (n * 1e9 / perSecond);
            long wait = due - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (stopped) {
                return;
            }
            World.Sample p = world.next(n >= calm);
            try {
                JsonNode r = client.postBytes("/api/deployments/" + deploymentId + "/predict", p.payload(),
                        p.contentType());
                truth.put(r.path("prediction_id").asText(), p.label());
                Score s = (p.drifted() ? drifted : original).computeIfAbsent(r.path("model_version_id").asText(),
                        v -> new Score());
                s.total.increment();
                if (p.label().equals(r.path("label").asText())) {
                    s.right.increment();
                }
                answered.increment();
            } catch (RuntimeException e) {
                errors.increment();
                firstError.compareAndSet(null, e.getMessage());
            }
        }
    }

    /** The true label of a prediction this traffic made, or {@code null}. */
    String truthOf(String predictionId) {
        return truth.get(predictionId);
    }

    /** Whether the world has drifted yet. */
    boolean drifting() {
        return issued.get() > calm;
    }

    long answered() {
        return answered.sum();
    }

    long errors() {
        return errors.sum();
    }

    String firstError() {
        return firstError.get();
    }

    /** Whether every input it may send was sent. */
    boolean exhausted() {
        return issued.get() >= calm + maxDrifted;
    }

    long calm() {
        return calm;
    }

    long maxDrifted() {
        return maxDrifted;
    }

    /** How the deployment did on the drifted world while this version served it. */
    Score drifted(String versionId) {
        return drifted.getOrDefault(versionId, new Score());
    }

    /** How the deployment did on the original world while this version served it. */
    Score original(String versionId) {
        return original.getOrDefault(versionId, new Score());
    }

    /** Drifted inputs answered so far, by any version. */
    long driftedAnswered() {
        return drifted.values().stream().mapToLong(s -> s.total.sum()).sum();
    }

    @Override
    public void close() {
        stopped = true;
        threads.shutdownNow();
        try {
            threads.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
