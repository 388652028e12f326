package dev.flywheel.server.training;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of the training job wrapper ({@code flywheel job run}) as a provisioner on this host starts it:
 * the installation's {@code bin/flywheel} when the server runs from one, otherwise this JVM with its own class path
 * (tests, IDEs). Container provisioners run the wrapper image's entry point instead.
 */
public final class JobLauncher {

    private JobLauncher() {}

    public static List<String> command() {
        String home = System.getProperty("flywheel.home");
        if (home != null && !home.isBlank()) {
            return List.of(Path.of(home, "bin", "flywheel").toString(), "job", "run");
        }
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin",
                "java").toString());
        var cmd = new ArrayList<String>();
        cmd.add(java);
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.flywheel.server.cli.FlywheelCli");
        cmd.add("job");
        cmd.add("run");
        return cmd;
    }
}
