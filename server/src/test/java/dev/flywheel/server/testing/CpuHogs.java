package dev.flywheel.server.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Other processes that keep the machine busy at normal priority, the way a shared build box is (like
 * {@code shared/tools/busy}): each spins in a shell loop until it is closed, and stops by itself after a time limit
 * even if the test that started it dies.
 */
public final class CpuHogs implements AutoCloseable {

    private final List<Process> processes = new ArrayList<>();

    private CpuHogs() {}

    /** Starts {@code n} spinning processes, each ending by itself after {@code limitSeconds}. */
    public static CpuHogs start(int n, int limitSeconds) {
        var hogs = new CpuHogs();
        try {
            for (int i = 0; i < n; i++) {
                hogs.processes.add(new ProcessBuilder("timeout", String.valueOf(limitSeconds), "sh", "-c",
                        "while :; do :; done").redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
            }
        } catch (IOException e) {
            hogs.close();
            throw new UncheckedIOException("cannot start the CPU hogs", e);
        }
        return hogs;
    }

    /** How many are still spinning. */
    public long running() {
        return processes.stream().filter(Process::isAlive).count();
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
