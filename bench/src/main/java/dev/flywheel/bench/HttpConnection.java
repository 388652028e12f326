package dev.flywheel.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One HTTP/1.1 keep-alive connection to 127.0.0.1, used by one load thread: it writes a request and reads the
 * whole answer before the next one.
 *
 * <p>Hand-written on a blocking socket rather than the JDK's {@code HttpClient}, whose selector thread and
 * asynchronous machinery cost CPU that the 2-core machine would take from the server under test. What it
 * understands is what the servers under test send: a status line, headers, and a body sized by
 * {@code Content-Length} or chunked.
 */
public final class HttpConnection implements AutoCloseable {

    /** An answer: its status and body. */
    public record Response(int status, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final int port;
    private final String headers;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    /**
     * @param port the server's port on 127.0.0.1
     * @param extraHeaders header lines (each ending in CRLF) sent with every request, e.g. the bearer token
     */
    public HttpConnection(int port, String extraHeaders) {
        this.port = port;
        this.headers = "Host: 127.0.0.1:" + port + "\r\n" + extraHeaders;
    }

    /** Sends a POST of a JSON body and reads the answer. */
    public Response post(String path, byte[] body) throws IOException {
        return exchange("POST", path, "Content-Type: application/json\r\n", body);
    }

    /** Sends a GET and reads the answer. */
    public Response get(String path) throws IOException {
        return exchange("GET", path, "", new byte[0]);
    }

    private Response exchange(String method, String path, String more, byte[] body) throws IOException {
        connect();
        String head = method + " " + path + " HTTP/1.1\r\n" + headers + more + "Content-Length: " + body.length
                + "\r\n\r\n";
        try {
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            return read();
        } catch (IOException e) {
            // The connection is in an unknown state; the next request opens a new one.
            close();
            throw e;
        }
    }

    private void connect() throws IOException {
        if (socket != null) {
            return;
        }
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(60_000);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
        out = new BufferedOutputStream(socket.getOutputStream(), 4 * 1024);
    }

    private Response read() throws IOException {
        String status = line();
        if (!status.startsWith("HTTP/1.1 ") && !status.startsWith("HTTP/1.0 ")) {
            throw new IOException("not an HTTP answer: " + status);
        }
        int code = Integer.parseInt(status.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean closeAfter = status.startsWith("HTTP/1.0");
        for (String h = line(); !h.isEmpty(); h = line()) {
            int colon = h.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = h.substring(colon + 1).trim();
            switch (name) {
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "connection" -> closeAfter = value.equalsIgnoreCase("close");
                default -> { }
            }
        }
        byte[] body;
        if (chunked) {
            var buf = new ByteArrayOutputStream();
            for (long size = Long.parseLong(line().split(";", 2)[0].trim(), 16); size > 0;
                    size = Long.parseLong(line().split(";", 2)[0].trim(), 16)) {
                buf.write(in.readNBytes((int) size));
                line();
            }
            // Trailers, if any, end with an empty line.
            while (!line().isEmpty()) {
                // skip
            }
            body = buf.toByteArray();
        } else if (length >= 0) {
            body = in.readNBytes((int) length);
            if (body.length != length) {
                throw new EOFException("the answer ended after " + body.length + " of " + length + " bytes");
            }
        } else {
            body = in.readAllBytes();
            closeAfter = true;
        }
        if (closeAfter) {
            close();
        }
        return new Response(code, body);
    }

    private String line() throws IOException {
        var sb = new StringBuilder(64);
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new EOFException("the server closed the connection");
            }
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing a socket we no longer use
            }
            socket = null;
        }
    }
}
