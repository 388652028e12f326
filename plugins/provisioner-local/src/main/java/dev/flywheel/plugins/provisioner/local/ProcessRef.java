package dev.flywheel.plugins.provisioner.local;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * A process as it can be written down and found again later, even by another JVM: its pid and the instant
 * the operating system says it started, which tells it apart from a later process given the same pid.
 *
 * @param pid the process id
 * @param start when it started, or {@code null} when that could not be read (the pid alone is then trusted)
 */
record ProcessRef(long pid, Instant start) {

    // The JDK derives start instants from /proc/stat's boot time, which moves when the wall clock is adjusted;
    // a genuine pid reuse within this window is not a practical concern.
    private static final Duration START_TOLERANCE = Duration.ofSeconds(2);

    static ProcessRef of(ProcessHandle process) {
        return new ProcessRef(process.pid(), process.info().startInstant().orElse(null));
    }

    /** The process, if it is alive and is still the one this refers to. */
    Optional<ProcessHandle> find() {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(this::isSameProcess);
    }

    private boolean isSameProcess(ProcessHandle process) {
        if (start == null) {
            return true;
        }
        return process.info().startInstant()
                .map(actual -> Duration.between(actual, start).abs().compareTo(START_TOLERANCE) <= 0)
                .orElse(true);
    }

    /** The form kept in files: {@code <pid> <start>}, with {@code -} for an unknown start. */
    String format() {
        return pid + " " + (start == null ? "-" : start.toString());
    }

    static ProcessRef parse(String text) {
        String[] parts = text.trim().split("\\s+");
        return new ProcessRef(Long.parseLong(parts[0]),
                parts.length < 2 || parts[1].equals("-") ? null : Instant.parse(parts[1]));
    }
}
