package dev.flywheel.plugins.provisioner.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Why and when the provisioner decided to stop a job, and which processes the job had then, kept in the job
 * directory. It is written before any signal is sent, so that the job's final state is known even if the
 * server restarts while the job is still dying, and so that a restarted provisioner can finish the kill once
 * the grace period has passed, including children that have lost their parent by then.
 *
 * @param reason why the job was stopped
 * @param at when the job was told to stop (TERM), on the provisioner's clock
 * @param processes the job's process tree when it was told to stop, the wrapper first
 */
record Termination(Reason reason, Instant at, List<ProcessRef> processes) {

    /** Why a job was stopped. */
    enum Reason {
        CANCELLED,
        TIMED_OUT
    }

    Termination {
        processes = List.copyOf(processes);
    }

    /** The job's termination record, or {@code null} when the provisioner never stopped it. */
    static Termination read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        }
        try {
            String[] head = lines.get(0).trim().split("\\s+");
            var processes = new ArrayList<ProcessRef>();
            for (String line : lines.subList(1, lines.size())) {
                if (!line.isBlank()) {
                    processes.add(ProcessRef.parse(line));
                }
            }
            return new Termination(Reason.valueOf(head[0]), Instant.parse(head[1]), processes);
        } catch (RuntimeException e) {
            throw new IOException("unreadable termination record " + file + ": " + lines, e);
        }
    }

    /**
     * Writes the record unless one exists: the first decision wins (a cancelled job that then times out stays
     * cancelled).
     *
     * @return the record now in the file
     */
    static Termination writeIfAbsent(Path file, Termination termination) throws IOException {
        Termination existing = read(file);
        if (existing != null) {
            return existing;
        }
        var text = new StringBuilder(termination.reason() + " " + termination.at() + "\n");
        termination.processes().forEach(process -> text.append(process.format()).append('\n'));
        // Written aside and then linked into place: a reader never sees half a record, and of two writers
        // racing (a cancel and a timeout) exactly one wins, because creating a link fails if the name exists.
        Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.createLink(file, tmp);
            return termination;
        } catch (FileAlreadyExistsException e) {
            return read(file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
