package dev.flywheel.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A server under test (or the in-process scenario) running as a child process, its console going to a log file
 * under {@code bench/target/logs/} so that a failure can be read afterwards.
 */
final class ChildProcess implements AutoCloseable {

    private final String name;
    private final Process process;
    private final Path log;

    private ChildProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    static ChildProcess start(String name, List<String> command, Map<String, String> env, Path logDir)
            throws IOException {
        Files.createDirectories(logDir);
        Path log = logDir.resolve(name + ".log");
        var pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        // A null value removes the variable, so that a setting of the caller's environment cannot leak in.
        env.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        return new ChildProcess(name, pb.start(), log);
    }

    /** Waits until the console shows {@code marker}; fails if the process exits or the time runs out first. */
    String awaitOutput(String marker, Duration timeout) throws IOException, InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            String out = Files.readString(log);
            if (out.contains(marker)) {
                return out;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with " + process.exitValue() + " before '" + marker
                        + "'; its console (" + log + "):\n" + tail(out));
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no '" + marker + "' from " + name + " within " + timeout + "; see " + log);
    }

    /** Waits for the process to end by itself. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not finish within " + timeout + "; see " + log);
        }
        return process.exitValue();
    }

    String output() throws IOException {
        return Files.readString(log);
    }

    Path log() {
        return log;
    }

    /** CPU time the process has used so far, in nanoseconds (user + system, all its threads). */
    long cpuNanos() {
        return process.toHandle().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /** Stops the process with SIGTERM (a graceful stop), then forcibly if it takes over a minute. */
    @Override
    public void close() throws InterruptedException {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** {@code java -cp <this jar> <main>} with the same JVM and the engine settings Flywheel's runtime uses. */
    static List<String> javaCommand(Class<?> main) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Dai.djl.offline=true");
        // runtime-djl turns the profiling graph executor off; so do we, so that the forward pass is the same work.
        cmd.add("-Dai.djl.pytorch.graph_optimizer=false");
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        return cmd;
    }

    /** CPU time this JVM has used so far, in nanoseconds. */
    static long selfCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /** A port free on this machine now (the child binds it a moment later; nothing else here races for it). */
    static int freePort() throws IOException {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Deletes a directory tree; a failure is reported, not thrown: the results matter more than the clean-up. */
    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }


    static String tail(String out) {
        return out.length() <= 4000 ? out : "…" + out.substring(out.length() - 4000);
    }
}
