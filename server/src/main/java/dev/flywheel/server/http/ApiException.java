package dev.flywheel.server.http;

import java.util.Map;

/**
 * An error the API reports to the caller as {@code {"error": code, "message": …}} with an HTTP status. Services
 * throw it for anything the caller did wrong; anything else becomes a 500 that is logged.
 */
public class ApiException extends RuntimeException {

    private final int status;
    private final String code;
    private final Map<String, Object> details;

    public ApiException(int status, String code, String message) {
        this(status, code, message, Map.of());
    }

    public ApiException(int status, String code, String message, Map<String, Object> details) {
        super(message);
        this.status = status;
        this.code = code;
        this.details = details == null ? Map.of() : details;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public Map<String, Object> details() {
        return details;
    }

    public static ApiException badRequest(String code, String message) {
        return new ApiException(400, code, message);
    }

    /**
     * The 400 for what an extension says the caller got wrong: its {@link dev.flywheel.spi.ExtensionException#code()}
     * is the error, as the SPI promises, when it is a snake_case code; otherwise {@code fallbackCode}.
     */
    public static ApiException fromExtension(dev.flywheel.spi.ExtensionException e, String fallbackCode) {
        String code = e.code() != null && e.code().matches("[a-z][a-z0-9_]{0,63}") ? e.code() : fallbackCode;
        return new ApiException(400, code, e.getMessage());
    }

    public static ApiException notFound(String kind, String id) {
        return new ApiException(404, "not_found", "no " + kind + " with id '" + id + "'");
    }

    public static ApiException conflict(String code, String message) {
        return new ApiException(409, code, message);
    }

    public static ApiException forbidden(String message) {
        return new ApiException(403, "forbidden", message);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, "unauthorized", message);
    }

    public static ApiException tooLarge(long limit) {
        return new ApiException(413, "payload_too_large", "the request body is larger than the limit of " + limit + " bytes");
    }
}
