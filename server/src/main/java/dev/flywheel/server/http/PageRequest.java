package dev.flywheel.server.http;

import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;

/**
 * The {@code ?limit=} and {@code ?cursor=} of a list request. A cursor is the opaque, encoded sort key of the
 * last item of the previous page, so pages stay stable while rows are added (keyset pagination, no OFFSET).
 *
 * @param limit how many items to return, 1..500
 * @param after the decoded sort key to continue after, or {@code null} for the first page
 */
public record PageRequest(int limit, String after) {

    public static final int DEFAULT_LIMIT = 50;
    public static final int MAX_LIMIT = 500;

    /** Reads and validates the paging parameters of a request. */
    public static PageRequest from(Context ctx) {
        int limit = DEFAULT_LIMIT;
        String l = ctx.queryParam("limit");
        if (l != null) {
            try {
                limit = Integer.parseInt(l);
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > MAX_LIMIT) {
                throw ApiException.badRequest("invalid_parameter", "limit must be a whole number from 1 to " + MAX_LIMIT);
            }
        }
        String c = ctx.queryParam("cursor");
        String after = null;
        if (c != null && !c.isEmpty()) {
            try {
                after = new String(Base64.getUrlDecoder().decode(c), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("invalid_parameter", "cursor is not one this server issued");
            }
        }
        return new PageRequest(limit, after);
    }

    /** The cursor as the number it encodes (for lists ordered by a sequence), or {@code null} on the first page. */
    public Long afterNumber() {
        if (after == null) {
            return null;
        }
        try {
            return Long.parseLong(after);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("invalid_parameter", "cursor is not one this server issued");
        }
    }

    /** The same, for lists ordered by an {@code int} (version and run numbers). */
    public Integer afterInt() {
        Long n = afterNumber();
        if (n != null && (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE)) {
            throw ApiException.badRequest("invalid_parameter", "cursor is not one this server issued");
        }
        return n == null ? null : n.intValue();
    }

    /**
     * Builds a page from rows fetched with {@code limit + 1}: the extra row only tells that there is more.
     *
     * @param rows up to {@code limit + 1} rows in sort order
     * @param sortKey the sort key of a row, which becomes the cursor
     */
    public <T> Page<T> page(List<T> rows, Function<T, String> sortKey) {
        if (rows.size() <= limit) {
            return new Page<>(rows, null);
        }
        List<T> items = rows.subList(0, limit);
        String key = sortKey.apply(items.get(items.size() - 1));
        return new Page<>(List.copyOf(items),
                Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8)));
    }

    /** The number of rows to fetch: one more than the page, to know whether another page follows. */
    public int fetchSize() {
        return limit + 1;
    }
}
