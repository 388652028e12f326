package dev.flywheel.server.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The errors Jetty answers itself, before a request reaches a route — a URI with a bad percent-encoding (400), a URI
 * too long (414), headers too large (431), a malformed request line, requests refused while the server stops (503) —
 * in the API's JSON {@code {"error", "message"}} instead of Jetty's HTML page. Installed as the Jetty server's error
 * handler.
 */
final class ProtocolErrors implements Request.Handler {

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        int status = response.getStatus();
        if (request.getAttribute(ErrorHandler.ERROR_EXCEPTION) instanceof HttpException e) {
            status = e.getCode();
            response.setStatus(status);
        }
        if (status == 505) {
            // An unknown HTTP version means a request line that is not HTTP/1.x at all: the client's error.
            status = 400;
            response.setStatus(status);
        } else if (status < 400) {
            status = 500;
            response.setStatus(status);
        }
        response.getHeaders().put(ErrorHandler.ERROR_CACHE_CONTROL);
        if (status == 503) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        if (HttpStatus.hasNoBody(status) || "HEAD".equals(request.getMethod())) {
            callback.succeeded();
            return true;
        }
        byte[] body = Json.write(new ErrorBody(HttpErrors.codeFor(status), message(status), Map.of()))
                .getBytes(StandardCharsets.UTF_8);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }

    /** What to tell the client; Jetty's own reason can name its internals, so each status has a fixed text. */
    private static String message(int status) {
        return switch (status) {
            case 400 -> "the request is not valid HTTP/1.1: check the request line, the URI's percent-encoding, the "
                    + "headers and the body's framing (Content-Length, chunked encoding)";
            case 413 -> "the request body is larger than the limit";
            case 414 -> "the request URI is longer than the server accepts (8 KiB)";
            case 431 -> "the request headers are larger than the server accepts (8 KiB)";
            case 503 -> "the server is stopping or overloaded; retry shortly";
            default -> status >= 500 ? "the server failed to handle this request; the cause is in its log"
                    : HttpStatus.getMessage(status);
        };
    }
}
