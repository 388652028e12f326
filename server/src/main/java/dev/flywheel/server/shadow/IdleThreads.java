package dev.flywheel.server.shadow;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes threads that run at the operating system's lowest CPU priority, for the shadow models' forward passes: they
 * get only the CPU time that everything else (the primaries, the HTTP server, the database) leaves idle.
 *
 * <p>Java thread priorities do not reach the Linux scheduler (HotSpot ignores them unless it runs as root with
 * {@code -XX:ThreadPriorityPolicy=1}), so each new thread moves itself, before it runs anything, to the
 * {@code SCHED_IDLE} policy with {@code chrt} (any user may lower their own threads), or failing that to nice 19 with
 * {@code renice}. Doing it first matters: threads a thread starts inherit its policy, and libtorch starts its
 * intra-op (OpenMP) threads from the thread of the first forward pass that needs them.
 *
 * <p>A low-priority thread holding a lock that a normal one needs would stall the normal one for as long as it is
 * starved, so these threads are meant to do nothing but the forward pass and hand the result back: they must not
 * share locks with request threads or the prediction writer.
 */
final class IdleThreads implements ThreadFactory {

    private static final Logger LOG = LoggerFactory.getLogger(IdleThreads.class);
    private static final AtomicBoolean REPORTED = new AtomicBoolean();

    private final String prefix;
    private final AtomicInteger count = new AtomicInteger();

    /** @param prefix the threads' names start with it */
    IdleThreads(String prefix) {
        this.prefix = prefix;
    }

    @Override
    public Thread newThread(Runnable body) {
        Thread t = new Thread(() -> {
            String outcome = lowerCurrentThread();
            if (REPORTED.compareAndSet(false, true)) {
                if (outcome.startsWith("SCHED_IDLE") || outcome.startsWith("nice")) {
                    LOG.info("shadow models run at the lowest CPU priority ({}): they only use CPU time the primaries "
                            + "leave idle", outcome);
                } else {
                    LOG.warn("shadow models run at normal CPU priority ({}); on a busy machine they compete with the "
                            + "primaries for CPU", outcome);
                }
            }
            body.run();
        }, prefix + count.getAndIncrement());
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        return t;
    }

    /**
     * Moves the calling thread to the lowest CPU priority it can get.
     *
     * @return what it got: {@code "SCHED_IDLE"}, {@code "nice 19"}, or why neither
     */
    static String lowerCurrentThread() {
        String tid;
        try {
            // "<pid>/task/<tid>": the kernel's id of this thread, which chrt and renice take for -p.
            tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return "not on Linux (no /proc/thread-self)";
        }
        if (run(List.of("chrt", "--idle", "-p", "0", tid))) {
            return "SCHED_IDLE";
        }
        if (run(List.of("renice", "-n", "19", "-p", tid))) {
            return "nice 19";
        }
        return "neither chrt --idle nor renice worked";
    }

    private static boolean run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
