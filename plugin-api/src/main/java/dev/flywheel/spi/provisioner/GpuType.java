package dev.flywheel.spi.provisioner;

/**
 * A kind of GPU a provisioner offers.
 *
 * @param name the name users request, such as {@code A10G}
 * @param available how many are free now, or -1 when unknown
 * @param description e.g. the device name reported by the driver
 */
public record GpuType(String name, int available, String description) {}
