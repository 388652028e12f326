package dev.flywheel.server.cli;

import dev.flywheel.server.ServerVersion;
import dev.flywheel.server.demo.DemoCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/flywheel}: the entry point of the distribution. */
@Command(name = "flywheel",
        mixinStandardHelpOptions = true,
        versionProvider = FlywheelCli.Version.class,
        description = "Flywheel: models that improve themselves. Capture predictions, review them, retrain, "
                + "shadow and promote.",
        subcommands = {ServerCommand.class, DemoCommand.class, AdminCommand.class, JobCommand.class,
            CommandLine.HelpCommand.class})
public final class FlywheelCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        int code = new CommandLine(new FlywheelCli()).execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Prints the server and SPI versions. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"flywheel " + ServerVersion.SERVER + " (plugin SPI " + ServerVersion.SPI + ")",
                    "Java " + Runtime.version()};
        }
    }
}
