package dev.flywheel.server.shadow;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The shadow's forward-pass threads really run under the SCHED_IDLE policy, as the kernel reports it, and so do the
 * threads they start (as libtorch's intra-op threads are), while the thread that made them keeps its own policy.
 */
class IdleThreadsTest {

    static final int SCHED_OTHER = 0;
    static final int SCHED_IDLE = 5;

    @Test
    void threadsAndTheirChildrenRunAtIdlePriority() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/proc/thread-self")), "Linux only");
        ExecutorService pool = Executors.newSingleThreadExecutor(new IdleThreads("test-idle-"));
        try {
            int[] policies = pool.submit(() -> {
                var child = new CompletableFuture<Integer>();
                Thread t = new Thread(() -> child.complete(policyOf(Path.of("/proc/thread-self/stat"))));
                t.start();
                return new int[] {policyOf(Path.of("/proc/thread-self/stat")), child.get(10, TimeUnit.SECONDS)};
            }).get(30, TimeUnit.SECONDS);
            assertThat(policies[0]).as("the pool's thread").isEqualTo(SCHED_IDLE);
            assertThat(policies[1]).as("a thread it started").isEqualTo(SCHED_IDLE);
            assertThat(policyOf(Path.of("/proc/thread-self/stat"))).as("the caller").isEqualTo(SCHED_OTHER);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The scheduling policy of a thread: field 41 of its {@code stat} (the fields after the name start at 3). */
    static int policyOf(Path stat) {
        try {
            String s = Files.readString(stat);
            String[] fields = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(fields[41 - 3]);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The policies of this process's threads whose (kernel, 15-character) name starts with {@code prefix}. */
    static List<Integer> policiesOfThreadsNamed(String prefix) throws IOException {
        List<Integer> policies = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    if (Files.readString(task.resolve("comm")).strip().startsWith(prefix)) {
                        policies.add(policyOf(task.resolve("stat")));
                    }
                } catch (IOException | java.io.UncheckedIOException e) {
                    // The thread ended while we looked.
                }
            }
        }
        return policies;
    }
}
