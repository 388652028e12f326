package dev.flywheel.spi.provisioner;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.config.ExtensionConfig;

/** Extension point for GPU provisioners: where training jobs run (this host, a Kubernetes cluster, a cloud VM). */
public interface GpuProvisionerFactory extends ExtensionFactory {

    /**
     * Creates a configured provisioner, such as one per Kubernetes cluster.
     *
     * @param config the validated configuration
     * @param context host services
     */
    GpuProvisioner create(ExtensionConfig config, ExtensionContext context);
}
