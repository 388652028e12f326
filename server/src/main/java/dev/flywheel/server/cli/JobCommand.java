package dev.flywheel.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code flywheel job}: what runs inside a training job. */
@Command(name = "job", mixinStandardHelpOptions = true,
        description = "Training job commands; provisioners start these, people rarely do.",
        subcommands = {JobRunCommand.class})
public final class JobCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
