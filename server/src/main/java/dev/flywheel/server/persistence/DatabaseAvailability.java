package dev.flywheel.server.persistence;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the database can be reached, as the server last saw it.
 *
 * <p>A failure to reach it (a refused or broken connection, the server shutting down — not a bad statement) marks it
 * down. While it is down the API answers at once with 503 and {@code Retry-After} instead of making every request wait
 * for a pooled connection that cannot come (the pool's timeout, seconds per request), and the prediction writer keeps
 * the async rows it holds instead of dropping them. A probe thread asks the pool for a connection every half second and
 * marks the database up again as soon as one answers, so the server recovers by itself, without a restart.
 *
 * <p>Embedded H2 cannot be unreachable; this only ever trips on PostgreSQL.
 */
public final class DatabaseAvailability implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DatabaseAvailability.class);
    private static final long PROBE_PAUSE_MS = 500;

    private final DataSource dataSource;
    private final Object lock = new Object();
    private volatile boolean up = true;
    private boolean closed;
    private long downSince;

    DatabaseAvailability(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Whether the database answered the last time anyone asked. */
    public boolean isUp() {
        return up;
    }

    /**
     * Looks at a failure: when it means the database cannot be reached, the database is marked down (and probed until
     * it answers again).
     *
     * @return whether the failure means the database cannot be reached
     */
    public boolean report(Throwable failure) {
        if (!isUnreachable(failure)) {
            return false;
        }
        synchronized (lock) {
            if (up && !closed) {
                up = false;
                downSince = System.nanoTime();
                LOG.warn("the database cannot be reached ({}); answering 503 until it can", summary(failure));
                Thread probe = new Thread(this::probe, "flywheel-database-probe");
                probe.setDaemon(true);
                probe.start();
            }
        }
        return true;
    }

    /**
     * Asks the database now, for a failure that does not say what it was (a driver's own error): whether a connection
     * answers. When none does, the database is marked down as by {@link #report}.
     */
    public boolean answers() {
        try (Connection c = dataSource.getConnection()) {
            if (c.isValid(2)) {
                return true;
            }
            report(new SQLException("a connection did not answer", "08006"));
        } catch (SQLException | RuntimeException e) {
            report(e instanceof SQLException && isUnreachable(e) ? e : new SQLException(e.toString(), "08006", e));
        }
        return false;
    }

    /**
     * Waits until the database is up, the wait is over or this is closed.
     *
     * @return whether it is up
     */
    public boolean awaitUp(Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        synchronized (lock) {
            while (!up && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            return up;
        }
    }

    private void probe() {
        while (true) {
            synchronized (lock) {
                if (closed) {
                    return;
                }
                try {
                    lock.wait(PROBE_PAUSE_MS);
                } catch (InterruptedException e) {
                    return;
                }
                if (closed) {
                    return;
                }
            }
            // The pool itself reconnects; a connection it hands out and that answers means it has.
            try (Connection c = dataSource.getConnection()) {
                if (c.isValid(2)) {
                    synchronized (lock) {
                        up = true;
                        lock.notifyAll();
                        LOG.info("the database answers again, after {} s", TimeUnit.NANOSECONDS.toSeconds(
                                System.nanoTime() - downSince));
                    }
                    return;
                }
            } catch (SQLException | RuntimeException e) {
                // still down
            }
        }
    }

    /**
     * Whether a failure means the database cannot be reached, rather than that a statement failed: a connection
     * exception (SQLSTATE class 08) or the server shutting down or starting (57P01..57P03), anywhere in its causes.
     */
    public static boolean isUnreachable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException e && e.getSQLState() != null) {
                String state = e.getSQLState();
                if (state.startsWith("08") || state.equals("57P01") || state.equals("57P02") || state.equals("57P03")) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Whether a failure is the pool's timeout while the database is reachable: every connection was busy for the whole
     * wait, which is overload, not an outage.
     */
    public static boolean isPoolExhausted(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLTransientConnectionException) {
                return !isUnreachable(t);
            }
        }
        return false;
    }

    private static String summary(Throwable failure) {
        Throwable last = failure;
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException) {
                last = t;
            }
        }
        return last.getClass().getSimpleName() + ": " + last.getMessage();
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
    }
}
