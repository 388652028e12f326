package dev.flywheel.spi.provisioner;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.config.ExtensionConfig;

/** Extension point for GPU provisioners: where training jobs run (this host, a Kubernetes cluster, a cloud VM). */
public interface GpuProvisionerFactory extends ExtensionFactory {

    /**
     * Creates a configured provisioner, such as one per Kubernetes cluster. The server keeps one instance per type and
     * settings, created when a run first needs it and shared by every run with those settings, until the server stops
     * ({@link GpuProvisioner#close()}; the jobs keep running, and a restarted server's new instance, with the same work
     * directory, must find them again by their handles).
     *
     * @param config the validated configuration
     * @param context host services
     */
    GpuProvisioner create(ExtensionConfig config, ExtensionContext context);
}
