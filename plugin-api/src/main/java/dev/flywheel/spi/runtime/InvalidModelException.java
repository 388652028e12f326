package dev.flywheel.spi.runtime;

import dev.flywheel.spi.ExtensionException;

/** A model artifact that is corrupt or does not fit its metadata; an upload of it is refused with 400. */
public class InvalidModelException extends ExtensionException {
    /** @param message what is wrong with the artifact, for a person */
    public InvalidModelException(String message) {
        super("invalid_model", message);
    }

    /**
     * @param message what is wrong with the artifact, for a person
     * @param cause the loading failure
     */
    public InvalidModelException(String message, Throwable cause) {
        super("invalid_model", message, cause);
    }
}
