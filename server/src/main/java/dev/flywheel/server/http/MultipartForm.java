package dev.flywheel.server.http;

import io.javalin.http.Context;
import jakarta.servlet.MultipartConfigElement;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A {@code multipart/form-data} body, read once and checked before a route uses any of it. Every way such a body can
 * be malformed — no or another boundary, cut short, garbage, a part without a name, too many parts, a part too large —
 * is a 400 {@code invalid_multipart} (413 past the route's size limit) that names the problem, before anything is
 * stored. Parts larger than {@value #IN_MEMORY_BYTES} bytes wait in temporary files, which Jetty deletes when the
 * request ends.
 */
public final class MultipartForm {

    /** The most parts a form may have; the routes that take one need at most four. */
    public static final int MAX_PARTS = 16;
    /** Parts up to this size are kept in memory, larger ones in a temporary file. */
    static final int IN_MEMORY_BYTES = 64 * 1024;
    /** Jetty's own limit on the text fields (parts without a file name) of one form, all together. */
    public static final int MAX_FIELD_BYTES = 200_000;

    /** Attribute through which Jetty takes the multipart limits of one request (what Javalin sets otherwise). */
    private static final String CONFIG_ATTRIBUTE = "org.eclipse.jetty.multipartConfig";

    private final Map<String, Part> parts;

    private MultipartForm(Map<String, Part> parts) {
        this.parts = parts;
    }

    /**
     * A part sent as a file (with a file name).
     *
     * @param filename the file name the client gave
     * @param size its size in bytes
     * @param part the part, to read
     */
    public record File(String filename, long size, Part part) {
        /** The file's bytes; the caller closes the stream. */
        public InputStream content() {
            try {
                return part.getInputStream();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Reads and checks the request's multipart body, within the matched route's body limit.
     *
     * @param expected the parts the route takes, for the error messages
     * @throws ApiException 415 when the body is not multipart/form-data, 400 when it is malformed, 413 when too large
     */
    public static MultipartForm read(Context ctx, String expected) {
        String contentType = ctx.header("Content-Type");
        String type = contentType == null ? "" : contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (!type.equals("multipart/form-data")) {
            throw new ApiException(415, "unsupported_media_type", "send multipart/form-data with " + expected);
        }
        String boundary = boundary(contentType);
        if (boundary == null) {
            throw invalid("the Content-Type multipart/form-data has no boundary parameter; send it as "
                    + "'multipart/form-data; boundary=…' with " + expected);
        }
        long limit = HttpErrors.bodyLimit(ctx);
        ctx.req().setAttribute(CONFIG_ATTRIBUTE, new MultipartConfigElement(System.getProperty("java.io.tmpdir"),
                limit, limit, IN_MEMORY_BYTES));
        Collection<Part> all;
        try {
            all = ctx.req().getParts();
        } catch (IOException | jakarta.servlet.ServletException | RuntimeException e) {
            if (tooLarge(e)) {
                throw ApiException.tooLarge(limit);
            }
            throw invalid("the multipart/form-data body could not be read: it must be parts separated by the boundary '"
                    + abbreviate(boundary) + "', each with a Content-Disposition header naming it, ending with the "
                    + "closing boundary; at most " + MAX_PARTS + " parts, and text fields of at most "
                    + MAX_FIELD_BYTES + " bytes in all (send large content as a file part). Expected: " + expected);
        }
        if (all.size() > MAX_PARTS) {
            throw invalid("the form has " + all.size() + " parts; at most " + MAX_PARTS + " are accepted. Expected: "
                    + expected);
        }
        var byName = new LinkedHashMap<String, Part>();
        for (Part p : all) {
            String name = p.getName();
            if (name == null || name.isBlank()) {
                throw invalid("a part has no name: every part needs 'Content-Disposition: form-data; name=\"…\"'. "
                        + "Expected: " + expected);
            }
            if (byName.putIfAbsent(name, p) != null) {
                throw invalid("the part '" + abbreviate(name) + "' is sent more than once");
            }
        }
        return new MultipartForm(byName);
    }

    /** The part of that name if it was sent as a file, or {@code null} if it was not sent. */
    public File file(String name) {
        Part p = parts.get(name);
        if (p == null) {
            return null;
        }
        if (p.getSubmittedFileName() == null) {
            throw invalid("the part '" + name + "' must be a file: its Content-Disposition needs a filename=\"…\"");
        }
        return new File(p.getSubmittedFileName(), p.getSize(), p);
    }

    /**
     * The part of that name as UTF-8 text, sent as a plain field or as a file, or {@code null} if it was not sent.
     *
     * @param maxBytes the largest text accepted
     */
    public String text(String name, int maxBytes) {
        Part p = parts.get(name);
        if (p == null) {
            return null;
        }
        if (p.getSize() > maxBytes) {
            throw invalid("the part '" + name + "' is larger than " + maxBytes + " bytes");
        }
        try (InputStream in = p.getInputStream()) {
            return new String(in.readNBytes(maxBytes), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String boundary(String contentType) {
        String[] params = contentType.split(";");
        for (int i = 1; i < params.length; i++) {
            String p = params[i].trim();
            int eq = p.indexOf('=');
            if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase("boundary")) {
                String value = p.substring(eq + 1).trim().replace("\"", "");
                return value.isEmpty() ? null : value;
            }
        }
        return null;
    }

    private static boolean tooLarge(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.eclipse.jetty.http.HttpException h && h.getCode() == 413) {
                return true;
            }
            // Jetty's parser says so only in its message: "max length exceeded: N", "max file size exceeded: N".
            String m = t.getMessage();
            if (t instanceof IllegalStateException && m != null
                    && (m.startsWith("max length exceeded") || m.startsWith("max file size exceeded"))) {
                return true;
            }
        }
        return false;
    }

    private static String abbreviate(String s) {
        return s.length() > 70 ? s.substring(0, 70) + "…" : s;
    }

    private static ApiException invalid(String message) {
        return ApiException.badRequest("invalid_multipart", message);
    }
}
