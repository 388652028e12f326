package dev.flywheel.server.plugins;

import dev.flywheel.spi.ExtensionContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/**
 * The host services the server hands to a factory's {@code create}: the instance's name, its own directory under
 * the data directory, the server's clock and version.
 *
 * @param instanceName the configured instance's name
 * @param workDirectory the instance's directory; created if missing
 * @param clock the server's clock
 * @param serverVersion the running server's version
 */
public record HostExtensionContext(String instanceName, Path workDirectory, Clock clock, String serverVersion)
        implements ExtensionContext {

    public HostExtensionContext {
        try {
            Files.createDirectories(workDirectory);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the work directory " + workDirectory + " of extension "
                    + instanceName, e);
        }
    }
}
