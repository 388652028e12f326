package dev.flywheel.server.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/** The JSON body of every error answer. */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record ErrorBody(String error, String message, Map<String, Object> details) {}
