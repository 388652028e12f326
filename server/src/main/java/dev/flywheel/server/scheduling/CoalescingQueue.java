package dev.flywheel.server.scheduling;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs work for a key soon, off the caller's thread, on one background thread: a review asks for its deployment's
 * triggers and promoter to be evaluated, and must neither wait for that nor start one evaluation per review. Requests
 * for a key that is still waiting merge into its one run; a request made while it runs queues the next.
 */
public final class CoalescingQueue implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CoalescingQueue.class);

    private final Consumer<String> work;
    private final Set<String> waiting = ConcurrentHashMap.newKeySet();
    private final ExecutorService thread;

    /**
     * @param threadName the background thread's name
     * @param work what to do for a key; what it throws is logged and the queue goes on
     */
    public CoalescingQueue(String threadName, Consumer<String> work) {
        this.work = work;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** Asks for the key's work to run soon; never blocks. */
    public void submit(String key) {
        if (!waiting.add(key)) {
            return;
        }
        try {
            thread.execute(() -> {
                waiting.remove(key);
                try {
                    work.accept(key);
                } catch (RuntimeException e) {
                    LOG.error("background work for {} failed", key, e);
                }
            });
        } catch (RejectedExecutionException e) {
            // Closed: the work would find the server stopping anyway.
            waiting.remove(key);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
