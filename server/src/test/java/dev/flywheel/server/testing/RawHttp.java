package dev.flywheel.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for requests that {@link Http}'s client refuses to send: bad percent-encodings,
 * huge headers, broken chunked encoding, bodies that lie about their length. One request per connection
 * ({@code Connection: close}), and the answer read as it came.
 */
public final class RawHttp {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final int port;

    public RawHttp(int port) {
        this.port = port;
    }

    /**
     * An answer as it came over the wire.
     *
     * @param status the status code, or -1 when the server closed the connection without one
     * @param headers the headers, names in lower case
     * @param body the body
     */
    public record Response(int status, Map<String, String> headers, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        /** The body as JSON, or {@code null} when it is not JSON. */
        public JsonNode jsonOrNull() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                return null;
            }
        }

        @Override
        public String toString() {
            String t = text();
            return status + " " + (t.length() > 300 ? t.substring(0, 300) + "…" : t);
        }
    }

    /** Builds a request: the request line and headers as given, then the body as given. */
    public static byte[] request(String method, String target, Map<String, String> headers, byte[] body) {
        var out = new ByteArrayOutputStream();
        var head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        if (!headers.containsKey("Connection")) {
            head.append("Connection: close\r\n");
        }
        if (body != null && !headers.containsKey("Content-Length") && !headers.containsKey("Transfer-Encoding")) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        out.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) {
            out.writeBytes(body);
        }
        return out.toByteArray();
    }

    /** Sends those bytes and reads the answer; a server that closes early gives what it sent. */
    public Response send(byte[] request) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            try {
                out.write(request);
                out.flush();
                // A server that answers before reading the whole body may reset the connection on the rest; what it
                // said is still readable.
            } catch (IOException e) {
                // fall through to read what it answered
            }
            try {
                s.shutdownOutput();
            } catch (IOException e) {
                // already closed by the server
            }
            return parse(readAll(s.getInputStream()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Response send(String method, String target, Map<String, String> headers, byte[] body) {
        return send(request(method, target, headers, body));
    }

    private static byte[] readAll(InputStream in) throws IOException {
        var buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        try {
            for (int n; (n = in.read(chunk)) >= 0; ) {
                buf.write(chunk, 0, n);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no complete answer within 60 s; got: " + buf.toString(StandardCharsets.ISO_8859_1));
        } catch (IOException e) {
            // a reset after the answer: keep what arrived
        }
        return buf.toByteArray();
    }

    private static Response parse(byte[] raw) {
        String all = new String(raw, StandardCharsets.ISO_8859_1);
        int end = all.indexOf("\r\n\r\n");
        if (!all.startsWith("HTTP/1.") || end < 0) {
            return new Response(-1, Map.of(), raw);
        }
        String[] lines = all.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        byte[] rest = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
        byte[] body = "chunked".equalsIgnoreCase(headers.get("transfer-encoding")) ? dechunk(rest) : rest;
        String length = headers.get("content-length");
        if (length != null && body.length > Integer.parseInt(length)) {
            body = java.util.Arrays.copyOf(body, Integer.parseInt(length));
        }
        return new Response(status, headers, body);
    }

    private static byte[] dechunk(byte[] in) {
        var out = new ByteArrayOutputStream();
        int i = 0;
        while (i < in.length) {
            int eol = indexOf(in, i);
            if (eol < 0) {
                break;
            }
            String size = new String(in, i, eol - i, StandardCharsets.ISO_8859_1).split(";")[0].trim();
            int n = size.isEmpty() ? 0 : Integer.parseInt(size, 16);
            if (n == 0) {
                break;
            }
            out.write(in, eol + 2, Math.min(n, in.length - eol - 2));
            i = eol + 2 + n + 2;
        }
        return out.toByteArray();
    }

    private static int indexOf(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        return -1;
    }
}
