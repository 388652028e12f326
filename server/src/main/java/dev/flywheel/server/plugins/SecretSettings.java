package dev.flywheel.server.plugins;

import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@link ConfigKind#SECRET} settings of an extension's configuration: never shown, and kept when a client saves
 * the configuration again without them.
 *
 * <p>The API shows a stored secret as {@link #MASK}. A client that saves the settings again (the UI's forms leave a
 * secret empty, a script may send back what it read) either leaves the secret out or sends the mask back: both keep
 * the stored value. Sending {@code null} removes it; sending anything else replaces it.
 */
public final class SecretSettings {

    /** What the API shows instead of a secret that is set. */
    public static final String MASK = "******";

    private SecretSettings() {}

    /** A copy of {@code config} with every secret that is set replaced by {@link #MASK}. */
    public static Map<String, Object> mask(ConfigSchema schema, Map<String, ?> config) {
        var out = new LinkedHashMap<String, Object>(config);
        for (ConfigProperty p : schema.properties()) {
            if (p.kind() == ConfigKind.SECRET && out.get(p.name()) != null) {
                out.put(p.name(), MASK);
            }
        }
        return out;
    }

    /**
     * The settings to validate and store: {@code incoming}, with each secret it leaves out or masks taken from
     * {@code stored} (the same extension's settings saved before).
     */
    public static Map<String, Object> keep(ConfigSchema schema, Map<String, ?> incoming, Map<String, ?> stored) {
        var out = new LinkedHashMap<String, Object>(incoming);
        for (ConfigProperty p : schema.properties()) {
            if (p.kind() != ConfigKind.SECRET) {
                continue;
            }
            boolean keep = !incoming.containsKey(p.name()) || MASK.equals(incoming.get(p.name()));
            if (!keep) {
                continue;
            }
            Object previous = stored.get(p.name());
            if (previous != null) {
                out.put(p.name(), previous);
            } else {
                // A mask with nothing behind it (the secret was never set, or another extension's was) is no value.
                out.remove(p.name());
            }
        }
        return out;
    }
}
