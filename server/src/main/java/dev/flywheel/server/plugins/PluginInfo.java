package dev.flywheel.server.plugins;

import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A plugin as the API shows it.
 *
 * @param id the plugin id from its manifest (or, for a jar that could not be read, its file name)
 * @param version its version
 * @param description what it does
 * @param provider who made it
 * @param requires the server SPI versions it needs
 * @param state created, resolved, started, stopped, disabled or failed
 * @param file the jar's file name in the plugins directory
 * @param error why it failed, or {@code null}
 * @param extensions its extensions by extension point ({@code model_runtime}, {@code retraining_trigger}, …)
 */
public record PluginInfo(
        String id,
        String version,
        String description,
        String provider,
        String requires,
        String state,
        String file,
        String error,
        Map<String, List<ExtensionInfo>> extensions) {

    /**
     * One extension a plugin provides.
     *
     * @param type the id users configure it by
     * @param displayName its human name
     * @param description what it does
     * @param className its implementation class
     * @param configSchema the settings it accepts (rendered as forms by the UI)
     */
    public record ExtensionInfo(String type, String displayName, String description, String className,
            List<SettingInfo> configSchema) {}

    /**
     * One setting of an extension's configuration schema.
     *
     * @param name its key
     * @param kind string, secret, integer, number, boolean, enum, string_list, string_map, duration or cron
     * @param required whether it must be given
     * @param defaultValue its default, or {@code null}
     * @param description what it does
     * @param allowedValues for enums, the permitted values
     * @param minimum for numbers, the lower bound or {@code null}
     * @param maximum for numbers, the upper bound or {@code null}
     */
    public record SettingInfo(String name, String kind, boolean required, Object defaultValue, String description,
            List<String> allowedValues, Double minimum, Double maximum) {

        /** A schema as the API shows it: to plugins' extensions, and to the core's own settings forms. */
        public static List<SettingInfo> of(ConfigSchema schema) {
            return schema.properties().stream().map(SettingInfo::of).toList();
        }

        static SettingInfo of(ConfigProperty p) {
            return new SettingInfo(p.name(), p.kind().name().toLowerCase(Locale.ROOT), p.required(),
                    p.kind() == dev.flywheel.spi.config.ConfigKind.SECRET ? null : p.defaultValue(), p.description(),
                    p.allowedValues(), p.minimum(), p.maximum());
        }
    }
}
