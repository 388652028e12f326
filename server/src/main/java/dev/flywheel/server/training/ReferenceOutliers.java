package dev.flywheel.server.training;

import dev.flywheel.server.feedback.ReviewService;
import dev.flywheel.spi.trigger.TriggerContext.Sample;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds drift outliers for the review queue: predictions whose input lies far from the deployment's reference data
 * (the reference dataset version, or without one the primary's first traffic) — any feature (or, for images, any
 * channel statistic) more than {@link #Z_LIMIT} standard deviations from its reference mean.
 */
public final class ReferenceOutliers implements ReviewService.OutlierDetector {

    static final double Z_LIMIT = 4.0;
    static final int REFERENCE_SIZE = 2000;
    static final int MIN_REFERENCE = 50;
    /** The reference changes slowly; recomputing it on every queue request would make the queue slow. */
    static final Duration CACHE_FOR = Duration.ofSeconds(60);

    private final TrainingSamples samples;
    private final Clock clock;
    private final Map<String, Stats> cache = new ConcurrentHashMap<>();

    private record Stats(double[] mean, double[] sd, int size, Instant at) {}

    public ReferenceOutliers(TrainingSamples samples, Clock clock) {
        this.samples = samples;
        this.clock = clock;
    }

    @Override
    public Map<String, String> outliers(String deploymentId, List<ReviewService.Candidate> candidates) {
        Stats stats = stats(deploymentId);
        var out = new LinkedHashMap<String, String>();
        if (stats == null) {
            return out;
        }
        for (ReviewService.Candidate c : candidates) {
            double[] x = samples.numbers(c.inputSha256(), c.inputContentType(), c.inputInline());
            if (x == null || x.length != stats.mean().length) {
                continue;
            }
            int worst = -1;
            double worstZ = 0;
            for (int i = 0; i < x.length; i++) {
                if (stats.sd()[i] > 0) {
                    double z = Math.abs(x[i] - stats.mean()[i]) / stats.sd()[i];
                    if (z > worstZ) {
                        worstZ = z;
                        worst = i;
                    }
                }
            }
            if (worstZ > Z_LIMIT) {
                out.put(c.id(), String.format(Locale.ROOT,
                        "feature %d is %.1f sd from the reference mean (reference: %d items)", worst, worstZ,
                        stats.size()));
            }
        }
        return out;
    }

    private Stats stats(String deploymentId) {
        Instant now = clock.instant();
        Stats s = cache.get(deploymentId);
        if (s != null && s.at().plus(CACHE_FOR).isAfter(now)) {
            return s.mean().length == 0 ? null : s;
        }
        Optional<Sample> reference = samples.reference(deploymentId, REFERENCE_SIZE);
        Stats computed = reference.filter(r -> r.size() >= MIN_REFERENCE).map(r -> compute(r, now))
                .orElse(new Stats(new double[0], new double[0], 0, now));
        cache.put(deploymentId, computed);
        return computed.mean().length == 0 ? null : computed;
    }

    private static Stats compute(Sample reference, Instant now) {
        List<double[]> rows = reference.features();
        int d = rows.get(0).length;
        double[] mean = new double[d];
        double[] sq = new double[d];
        int n = 0;
        for (double[] row : rows) {
            if (row.length != d) {
                continue;
            }
            n++;
            for (int i = 0; i < d; i++) {
                mean[i] += row[i];
                sq[i] += row[i] * row[i];
            }
        }
        double[] sd = new double[d];
        for (int i = 0; i < d; i++) {
            mean[i] /= n;
            sd[i] = Math.sqrt(Math.max(0, sq[i] / n - mean[i] * mean[i]));
        }
        return new Stats(mean, sd, n, now);
    }
}
