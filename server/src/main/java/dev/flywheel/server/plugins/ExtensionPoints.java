package dev.flywheel.server.plugins;

import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.promotion.PromotionPolicyFactory;
import dev.flywheel.spi.provisioner.GpuProvisionerFactory;
import dev.flywheel.spi.runtime.ModelRuntimeFactory;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import java.util.LinkedHashMap;
import java.util.Map;

/** The extension points of the SPI, by the name the API uses for them. */
public final class ExtensionPoints {

    /** API name to factory interface, in the order the API lists them. */
    public static final Map<String, Class<? extends ExtensionFactory>> ALL;

    static {
        var m = new LinkedHashMap<String, Class<? extends ExtensionFactory>>();
        m.put("model_runtime", ModelRuntimeFactory.class);
        m.put("retraining_trigger", RetrainingTriggerFactory.class);
        m.put("promotion_policy", PromotionPolicyFactory.class);
        m.put("gpu_provisioner", GpuProvisionerFactory.class);
        ALL = java.util.Collections.unmodifiableMap(m);
    }

    private ExtensionPoints() {}

    /** The API name of an extension point. */
    public static String nameOf(Class<? extends ExtensionFactory> point) {
        return ALL.entrySet().stream().filter(e -> e.getValue() == point).map(Map.Entry::getKey).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("not an extension point: " + point));
    }
}
