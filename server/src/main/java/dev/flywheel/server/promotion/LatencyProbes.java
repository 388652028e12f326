package dev.flywheel.server.promotion;

import dev.flywheel.server.serving.ModelCache;
import dev.flywheel.server.serving.PredictPayload;
import dev.flywheel.server.serving.PredictionService;
import dev.flywheel.server.serving.PredictionStore;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.promotion.LatencyProbe;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures two model versions' forward-pass times like for like, for guardrails that compare them: both run back to
 * back on the same stored inputs of the deployment, on the calling thread (normal priority), alternating which goes
 * first, each timed alone. Whatever load the machine has then slows both passes of a pair alike, so the median of the
 * per-input ratios is about the models, not about the shadow's idle priority or its queue.
 *
 * <p>The cost is bounded and paid only while a comparison needs it: a round stops after {@link #ROUND_BUDGET_NANOS}.
 * The first rounds time up to {@value #TARGET_PAIRS} pairs (so that a guardrail can usually judge at the first
 * evaluation) and come at most every {@link #FILL_GAP_NANOS} until that many are kept; then a round of
 * {@value #PAIRS_PER_ROUND} pairs at most every {@link #REFRESH_NANOS} (the oldest pairs make room) keeps the number up
 * with a model whose speed changes with its inputs. Pairs live in memory: after a restart they are
 * measured again within a few rounds.
 */
public final class LatencyProbes {

    private static final Logger LOG = LoggerFactory.getLogger(LatencyProbes.class);
    static final int PAIRS_PER_ROUND = 16;
    static final int TARGET_PAIRS = 60;
    static final int MAX_PAIRS = 120;
    static final long ROUND_BUDGET_NANOS = TimeUnit.SECONDS.toNanos(2);
    static final long FILL_GAP_NANOS = TimeUnit.SECONDS.toNanos(3);
    static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** The two-sided 95% normal quantile, for the order statistics of the median's interval. */
    private static final double Z95 = 1.959963984540054;

    private final ModelCache models;
    private final PredictionService predictions;
    private final ConcurrentHashMap<String, Samples> samples = new ConcurrentHashMap<>();

    /** The pairs timed for one deployment and pair of versions. */
    private static final class Samples {
        final ArrayDeque<double[]> pairs = new ArrayDeque<>();
        long lastRoundNanos = System.nanoTime() - REFRESH_NANOS;
        volatile long lastUsedNanos = System.nanoTime();
        int nextInput;
    }

    /**
     * A deployment compares at most two pairs at a time (its primary with the shadow, and during a bake its primary
     * with the one it replaced): older pairs are forgotten.
     */
    static final int PAIRS_KEPT_PER_DEPLOYMENT = 2;

    public LatencyProbes(ModelCache models, PredictionService predictions) {
        this.models = models;
        this.predictions = predictions;
    }

    /**
     * The comparison of {@code candidate}'s pass times with {@code baseline}'s, after timing another round of pairs on
     * the deployment's recent inputs if one is due. A version that cannot be loaded, or inputs it refuses, leave the
     * probe as it was.
     */
    public LatencyProbe measure(String deploymentId, String baseline, String candidate) {
        Samples s = samples.computeIfAbsent(key(deploymentId, baseline, candidate), k -> new Samples());
        s.lastUsedNanos = System.nanoTime();
        forgetOldPairs(deploymentId);
        synchronized (s) {
            long now = System.nanoTime();
            long gap = s.pairs.size() < TARGET_PAIRS ? FILL_GAP_NANOS : REFRESH_NANOS;
            if (now - s.lastRoundNanos >= gap) {
                try {
                    // Without inputs yet there is nothing to wait for: the next call tries again.
                    if (round(s, deploymentId, baseline, candidate) > 0) {
                        s.lastRoundNanos = now;
                    }
                } catch (RuntimeException | LinkageError e) {
                    s.lastRoundNanos = now;
                    LOG.warn("timing versions {} and {} of deployment {} failed: {}", baseline, candidate,
                            deploymentId, e.toString());
                }
            }
            return summary(s);
        }
    }

    /** The comparison as measured so far, without timing anything. */
    public LatencyProbe current(String deploymentId, String baseline, String candidate) {
        Samples s = samples.get(key(deploymentId, baseline, candidate));
        if (s == null) {
            return LatencyProbe.NONE;
        }
        synchronized (s) {
            return summary(s);
        }
    }

    private void forgetOldPairs(String deploymentId) {
        List<java.util.Map.Entry<String, Samples>> mine = new ArrayList<>();
        samples.entrySet().stream().filter(e -> e.getKey().startsWith(deploymentId + " ")).forEach(mine::add);
        if (mine.size() <= PAIRS_KEPT_PER_DEPLOYMENT) {
            return;
        }
        mine.sort((a, b) -> Long.compare(b.getValue().lastUsedNanos, a.getValue().lastUsedNanos));
        for (var e : mine.subList(PAIRS_KEPT_PER_DEPLOYMENT, mine.size())) {
            samples.remove(e.getKey(), e.getValue());
        }
    }

    /** Times a round of pairs; returns how many. */
    private int round(Samples s, String deploymentId, String baseline, String candidate) {
        List<ModelInput> inputs = inputs(deploymentId);
        if (inputs.isEmpty()) {
            return 0;
        }
        LoadedModel a = models.get(baseline);
        LoadedModel b = models.get(candidate);
        // One untimed pass each: a model's first pass pays for allocations and lazy initialisation.
        ModelInput first = inputs.get(0);
        time(a, first);
        time(b, first);
        long deadline = System.nanoTime() + ROUND_BUDGET_NANOS;
        int pairs = Math.max(PAIRS_PER_ROUND, TARGET_PAIRS - s.pairs.size());
        int timed = 0;
        for (int i = 0; i < pairs && System.nanoTime() < deadline; i++) {
            ModelInput input = inputs.get(Math.floorMod(s.nextInput++, inputs.size()));
            double ta;
            double tb;
            // Alternating the order cancels what running second gains from the first pass's warm caches.
            if (s.nextInput % 2 == 0) {
                ta = time(a, input);
                tb = time(b, input);
            } else {
                tb = time(b, input);
                ta = time(a, input);
            }
            if (ta > 0 && tb > 0) {
                timed++;
                s.pairs.addLast(new double[] {ta, tb});
                if (s.pairs.size() > MAX_PAIRS) {
                    s.pairs.removeFirst();
                }
            }
        }
        return timed;
    }

    /** Milliseconds one pass took, or -1 when the model refused the input. */
    private static double time(LoadedModel model, ModelInput input) {
        long start = System.nanoTime();
        try {
            model.predictOnCallingThread(List.of(input));
        } catch (dev.flywheel.spi.runtime.InvalidInputException e) {
            return -1;
        }
        return (System.nanoTime() - start) / 1e6;
    }

    /** The deployment's most recent stored inputs that are model inputs (logged predictions may hold others). */
    private List<ModelInput> inputs(String deploymentId) {
        List<ModelInput> out = new ArrayList<>();
        for (PredictionStore.Observation o : predictions.observations(deploymentId, null, TARGET_PAIRS)) {
            try {
                out.add(PredictPayload.parse(o.contentType(), predictions.inputOf(o)).input());
            } catch (RuntimeException e) {
                // Gone from the blob store, or not a predict payload: another input will do.
            }
        }
        return out;
    }

    static LatencyProbe summary(Samples s) {
        int n = s.pairs.size();
        if (n == 0) {
            return LatencyProbe.NONE;
        }
        double[] a = new double[n];
        double[] b = new double[n];
        double[] ratio = new double[n];
        int i = 0;
        for (double[] p : s.pairs) {
            a[i] = p[0];
            b[i] = p[1];
            ratio[i] = p[1] / p[0];
            i++;
        }
        return of(a, b, ratio);
    }

    /** The probe of these pass times (ms) and per-pair ratios. */
    static LatencyProbe of(double[] baseline, double[] candidate, double[] ratios) {
        int n = ratios.length;
        double[] r = ratios.clone();
        Arrays.sort(r);
        double low = Double.NaN;
        double high = Double.NaN;
        // The ranks of a distribution-free interval of the median (binomial with p = 1/2, normal approximation).
        if (n >= 6) {
            int lower = (int) Math.round(n / 2.0 - Z95 * Math.sqrt(n) / 2);
            int upper = (int) Math.round(1 + n / 2.0 + Z95 * Math.sqrt(n) / 2);
            low = r[Math.max(1, lower) - 1];
            high = r[Math.min(n, upper) - 1];
        }
        return new LatencyProbe(n, median(baseline), median(candidate), median(r), low, high);
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static String key(String deploymentId, String baseline, String candidate) {
        return deploymentId + " " + baseline + " " + candidate;
    }
}
