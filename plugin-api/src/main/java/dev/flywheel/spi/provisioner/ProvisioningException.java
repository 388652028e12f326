package dev.flywheel.spi.provisioner;

import dev.flywheel.spi.ExtensionException;

/** A provisioner could not do what was asked. */
public class ProvisioningException extends ExtensionException {

    private final boolean retryable;

    /**
     * @param message what went wrong, for a person
     * @param retryable whether trying again later may succeed (a busy cluster) or not (no such GPU type)
     */
    public ProvisioningException(String message, boolean retryable) {
        super("provisioning_failed", message);
        this.retryable = retryable;
    }

    /**
     * @param message what went wrong, for a person
     * @param retryable whether trying again later may succeed
     * @param cause the underlying failure
     */
    public ProvisioningException(String message, boolean retryable, Throwable cause) {
        super("provisioning_failed", message, cause);
        this.retryable = retryable;
    }

    /** Whether trying again later may succeed. */
    public boolean retryable() {
        return retryable;
    }
}
