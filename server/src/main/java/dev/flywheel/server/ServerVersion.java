package dev.flywheel.server;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The server's own version and the SPI version it provides to plugins (PF4J's system version). */
public final class ServerVersion {

    public static final String SERVER;
    public static final String SPI;

    static {
        var p = new Properties();
        try (InputStream in = ServerVersion.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // fall through to the defaults
        }
        SERVER = p.getProperty("server.version", "0.0.0-dev");
        SPI = p.getProperty("spi.version", "0.1.0");
    }

    private ServerVersion() {}
}
