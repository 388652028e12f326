package dev.flywheel.server.http;

import java.util.List;

/**
 * One page of a list: {@code {"items": [...], "next_cursor": "…"}}. {@code next_cursor} is {@code null} on the
 * last page; passing it back as {@code ?cursor=} returns the next one.
 */
public record Page<T>(List<T> items, String nextCursor) {}
