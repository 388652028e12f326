package dev.flywheel.server.serving;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the predict requests each model version failed (its runtime threw or answered garbage), per deployment and
 * minute, in the {@code model_failure} table. A failed request logs no prediction row, so without these counts a
 * version's error rate could not be known after the fact; the bake watch compares a newly promoted primary's with its
 * predecessor's.
 *
 * <p>A failing model may fail every request, so failures are added up in memory and written every
 * {@link #FLUSH_MILLIS} by one thread, never one statement per request; {@link #count} adds what is not written yet.
 */
public final class ModelFailures implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelFailures.class);
    static final long FLUSH_MILLIS = 2_000;

    private final Jdbi jdbi;
    private final ConcurrentHashMap<Key, LongAdder> unwritten = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean closed;

    private record Key(String deploymentId, String versionId, Instant minute) {}

    public ModelFailures(Jdbi jdbi) {
        this.jdbi = jdbi;
        this.thread = new Thread(this::run, "flywheel-model-failures");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Counts one failed request; never blocks on the database. */
    public void record(String deploymentId, String versionId, Instant at) {
        unwritten.computeIfAbsent(new Key(deploymentId, versionId, at.truncatedTo(ChronoUnit.MINUTES)),
                k -> new LongAdder()).increment();
    }

    /**
     * Failed requests of a version in a deployment in the minutes {@code [from, until)} ({@code from} rounded down to
     * its minute).
     */
    public long count(String deploymentId, String versionId, Instant from, Instant until) {
        Instant first = from.truncatedTo(ChronoUnit.MINUTES);
        long written = jdbi.withHandle(h -> h.createQuery("""
                SELECT COALESCE(SUM(failures), 0) FROM model_failure
                WHERE deployment_id = :d AND model_version_id = :v AND minute_start >= :from AND minute_start < :until
                """).bind("d", deploymentId).bind("v", versionId).bind("from", Timestamp.from(first))
                .bind("until", Timestamp.from(until)).mapTo(Long.class).one());
        long pending = 0;
        for (Map.Entry<Key, LongAdder> e : unwritten.entrySet()) {
            Key k = e.getKey();
            if (k.deploymentId().equals(deploymentId) && k.versionId().equals(versionId)
                    && !k.minute().isBefore(first) && k.minute().isBefore(until)) {
                pending += e.getValue().sum();
            }
        }
        return written + pending;
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(FLUSH_MILLIS);
            } catch (InterruptedException e) {
                // close(): write what is left, then stop.
            }
            flush();
        }
    }

    /** Writes the counts added up so far. */
    void flush() {
        // Requests only count into the current minute, so an older minute's adder that is empty stays empty.
        Instant old = Instant.now().minus(2, ChronoUnit.MINUTES);
        for (Key k : java.util.List.copyOf(unwritten.keySet())) {
            LongAdder adder = unwritten.get(k);
            long n = adder == null ? 0 : adder.sumThenReset();
            if (n == 0) {
                if (k.minute().isBefore(old)) {
                    unwritten.remove(k, adder);
                }
                continue;
            }
            try {
                add(k, n);
            } catch (RuntimeException e) {
                // Kept for the next flush: the database may be back by then.
                unwritten.computeIfAbsent(k, x -> new LongAdder()).add(n);
                LOG.warn("could not write {} model failures of version {}: {}", n, k.versionId(), e.toString());
                return;
            }
        }
    }

    private void add(Key k, long n) {
        jdbi.useTransaction(h -> {
            int updated = h.createUpdate("""
                    UPDATE model_failure SET failures = failures + :n
                    WHERE deployment_id = :d AND model_version_id = :v AND minute_start = :m
                    """).bind("n", n).bind("d", k.deploymentId()).bind("v", k.versionId())
                    .bind("m", Timestamp.from(k.minute())).execute();
            if (updated == 0) {
                h.createUpdate("""
                        INSERT INTO model_failure (deployment_id, model_version_id, minute_start, failures)
                        VALUES (:d, :v, :m, :n)
                        """).bind("n", n).bind("d", k.deploymentId()).bind("v", k.versionId())
                        .bind("m", Timestamp.from(k.minute())).execute();
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
