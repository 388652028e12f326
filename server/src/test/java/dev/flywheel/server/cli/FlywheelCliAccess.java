package dev.flywheel.server.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;

/** Runs CLI commands in the test's JVM with an environment of the test's choosing, as {@code bin/flywheel} would. */
public final class FlywheelCliAccess {

    private FlywheelCliAccess() {}

    /**
     * What a command did.
     *
     * @param exitCode its exit status
     * @param output what it printed, stdout then stderr
     */
    public record Result(int exitCode, String output) {}

    /** {@code flywheel admin reset-token --config <config>} with only {@code env} as the environment. */
    public static synchronized Result resetToken(Path config, Map<String, String> env) {
        var command = new ResetTokenCommand();
        command.env = env;
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new CommandLine(command).execute("--config", config.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8));
    }
}
