package dev.flywheel.spi;

import java.nio.file.Path;
import java.time.Clock;

/**
 * Host services the server hands to a factory when it creates an instance. Plugins reach the server only
 * through such context objects, never through statics.
 */
public interface ExtensionContext {

    /** The name of the configured instance being created (for logs and metrics). */
    String instanceName();

    /** A directory this instance may use for its own files; it survives restarts. */
    Path workDirectory();

    /** The clock to use instead of {@code System.currentTimeMillis()}, so that tests can control time. */
    default Clock clock() {
        return Clock.systemUTC();
    }

    /** A logger whose output lands in the server's log, attributed to the plugin. */
    default System.Logger logger() {
        return System.getLogger("flywheel.plugin." + instanceName());
    }

    /** The version of the running server, such as {@code "0.1.0"}. */
    String serverVersion();
}
