package dev.flywheel.spi.runtime;

import dev.flywheel.spi.ExtensionException;

/** An input that does not fit the model; the API answers 400 with this message. */
public class InvalidInputException extends ExtensionException {
    /** @param message what is wrong with the input, for a person */
    public InvalidInputException(String message) {
        super("invalid_input", message);
    }

    /**
     * @param message what is wrong with the input, for a person
     * @param cause the decoding or shape failure
     */
    public InvalidInputException(String message, Throwable cause) {
        super("invalid_input", message, cause);
    }
}
