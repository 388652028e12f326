package dev.flywheel.server.cli;

import java.nio.file.Path;

/** Facts the {@code bin/flywheel} script passes to the JVM. */
final class Launcher {

    private Launcher() {}

    /** The distribution's directory ({@code bin/}, {@code lib/}, {@code plugins/}, {@code conf/}), if launched from one. */
    static Path home() {
        String h = System.getProperty("flywheel.home");
        return h == null || h.isBlank() ? null : Path.of(h).toAbsolutePath();
    }
}
