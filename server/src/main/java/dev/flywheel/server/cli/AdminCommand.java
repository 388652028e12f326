package dev.flywheel.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code flywheel admin}: operator commands run on the server host, against the server's own database. */
@Command(name = "admin", mixinStandardHelpOptions = true,
        description = "Operator commands, run on the server host with the server's settings.",
        subcommands = {ResetTokenCommand.class})
public final class AdminCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
