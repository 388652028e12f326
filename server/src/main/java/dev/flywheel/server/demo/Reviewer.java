package dev.flywheel.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * A simulated person working through the deployment's review queue the way the UI offers it (anomalies first): it
 * knows each input's true label, and with probability {@code errorRate} picks a wrong one, as real reviewers
 * sometimes do. It accepts a prediction it judges right and corrects one it judges wrong, in bulk requests.
 */
final class Reviewer implements AutoCloseable {

    private final FlywheelClient client;
    private final String deploymentId;
    private final Traffic traffic;
    private final List<String> labels;
    private final double errorRate;
    private final Random random;
    private final Thread thread;
    private final LongAdder reviewed = new LongAdder();
    private final LongAdder corrected = new LongAdder();
    private final LongAdder mistakes = new LongAdder();
    private final AtomicReference<String> lastError = new AtomicReference<>();
    private volatile boolean stopped;

    Reviewer(FlywheelClient client, String deploymentId, Traffic traffic, List<String> labels, double errorRate,
            long seed) {
        this.client = client;
        this.labels = List.copyOf(labels);
        this.deploymentId = deploymentId;
        this.traffic = traffic;
        this.errorRate = errorRate;
        this.random = new Random(seed);
        this.thread = new Thread(this::loop, "demo-reviewer-" + deploymentId);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void loop() {
        while (!stopped) {
            try {
                int done = reviewOnce();
                if (done == 0) {
                    Thread.sleep(300);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                lastError.set(e.getMessage());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Reviews the head of the queue once; returns how many reviews were recorded. */
    int reviewOnce() {
        JsonNode queue = client.get("/api/deployments/" + deploymentId + "/review-queue?limit=200");
        List<Map<String, Object>> reviews = new ArrayList<>();
        int wrongOnPurpose = 0;
        int corrections = 0;
        for (JsonNode item : queue.path("items")) {
            JsonNode p = item.path("prediction");
            String id = p.path("id").asText();
            String truth = traffic.truthOf(id);
            if (truth == null) {
                // Not the demo's traffic (someone else predicted): this reviewer does not know the answer.
                continue;
            }
            String verdict = truth;
            if (random.nextDouble() < errorRate) {
                List<String> others = new ArrayList<>(labels);
                others.remove(truth);
                verdict = others.get(random.nextInt(others.size()));
                wrongOnPurpose++;
            }
            if (verdict.equals(p.path("label").asText())) {
                reviews.add(Map.of("prediction_id", id, "action", "accept"));
            } else {
                reviews.add(Map.of("prediction_id", id, "action", "correct", "label", verdict));
                corrections++;
            }
        }
        if (reviews.isEmpty()) {
            return 0;
        }
        JsonNode result = client.post("/api/deployments/" + deploymentId + "/reviews", Map.of("reviews", reviews));
        int ok = result.path("reviewed").asInt();
        reviewed.add(ok);
        // Counted as sent; a refused review (already reviewed by someone else) is rare here and not worth telling apart.
        corrected.add(corrections);
        mistakes.add(wrongOnPurpose);
        return ok;
    }

    long reviewed() {
        return reviewed.sum();
    }

    long corrected() {
        return corrected.sum();
    }

    long mistakes() {
        return mistakes.sum();
    }

    String lastError() {
        return lastError.get();
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
