package dev.flywheel.bench;

import java.util.Arrays;

/**
 * Per-request latencies of one measured phase, in nanoseconds, and the percentiles computed from them.
 *
 * <p>Every latency is kept (a phase has at most a few hundred thousand requests), so percentiles are exact rather
 * than bucketed; each load thread owns one recorder, so recording needs no synchronisation, and the threads'
 * recorders are {@link #merge merged} once the phase is over.
 */
public final class LatencyRecorder {

    private long[] values = new long[1 << 14];
    private int size;

    /** Records one request's latency. */
    public void record(long nanos) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = nanos;
    }

    /** Requests recorded. */
    public int count() {
        return size;
    }

    /** One recorder holding every latency of {@code parts}. */
    public static LatencyRecorder merge(Iterable<LatencyRecorder> parts) {
        var all = new LatencyRecorder();
        for (LatencyRecorder p : parts) {
            for (int i = 0; i < p.size; i++) {
                all.record(p.values[i]);
            }
        }
        return all;
    }

    /**
     * The {@code q}-quantile by the nearest-rank method: the smallest recorded value that at least {@code q} of
     * all values are less than or equal to. Nearest rank never interpolates, so a p99 is always a latency some
     * request really had.
     *
     * @param q between 0 (exclusive) and 1 (inclusive), e.g. 0.99
     * @return nanoseconds, or {@code NaN} with nothing recorded
     */
    public double quantile(double q) {
        if (!(q > 0 && q <= 1)) {
            throw new IllegalArgumentException("a quantile is in (0, 1], not " + q);
        }
        if (size == 0) {
            return Double.NaN;
        }
        long[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(q * size);
        return sorted[Math.max(rank, 1) - 1];
    }

    /** The mean in nanoseconds, or {@code NaN} with nothing recorded. */
    public double mean() {
        if (size == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = 0; i < size; i++) {
            sum += values[i];
        }
        return sum / size;
    }
}
