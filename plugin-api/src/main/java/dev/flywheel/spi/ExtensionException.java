package dev.flywheel.spi;

/**
 * Thrown by an extension when a request cannot be honoured because of what the caller supplied (bad
 * input, bad configuration, a model that does not fit its contract). The server reports it to the user as
 * a 4xx error with this message, so the message must say what is wrong and, where possible, how to fix it.
 *
 * <p>Anything else an extension throws is treated as a failure of the extension itself: it is recorded as
 * an event and the caller gets a 5xx answer, while the server keeps serving.
 */
public class ExtensionException extends Exception {

    private final String code;

    /**
     * @param code a stable machine-readable error code in snake_case, such as {@code "invalid_input"}
     * @param message what is wrong, for a person
     */
    public ExtensionException(String code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * @param code a stable machine-readable error code in snake_case
     * @param message what is wrong, for a person
     * @param cause the underlying failure
     */
    public ExtensionException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** The machine-readable error code, used as {@code error} in the API's JSON error. */
    public String code() {
        return code;
    }
}
