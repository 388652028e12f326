/**
 * The Flywheel service provider interface: what a plugin author compiles against.
 *
 * <p>Every extension point is a named factory ({@link dev.flywheel.spi.ExtensionFactory}): it has a
 * stable {@code type} id, describes the configuration it accepts as a {@link
 * dev.flywheel.spi.config.ConfigSchema} (the server validates user input against it and the UI renders
 * a form from it), and creates configured instances. One plugin can therefore back several configured
 * instances, such as two drift triggers with different windows.
 *
 * <p>The four extension points are {@link dev.flywheel.spi.runtime.ModelRuntimeFactory}, {@link
 * dev.flywheel.spi.trigger.RetrainingTriggerFactory}, {@link
 * dev.flywheel.spi.promotion.PromotionPolicyFactory} and {@link
 * dev.flywheel.spi.provisioner.GpuProvisionerFactory}. New methods are only ever added as {@code
 * default} methods, so a plugin built against an older SPI keeps loading.
 */
package dev.flywheel.spi;
