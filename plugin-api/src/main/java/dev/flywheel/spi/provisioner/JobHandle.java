package dev.flywheel.spi.provisioner;

import java.util.Map;

/**
 * Identifies a submitted job; stored with the run so that the job can be found again after a restart.
 *
 * @param id the provisioner's id for the job (a process id, a Kubernetes Job name…)
 * @param attributes anything else the provisioner needs to find it again
 */
public record JobHandle(String id, Map<String, String> attributes) {
    public JobHandle {
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }
}
