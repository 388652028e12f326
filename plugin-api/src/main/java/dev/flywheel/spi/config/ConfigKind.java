package dev.flywheel.spi.config;

/** The type of a configuration setting, which decides how it is validated and which form field shows it. */
public enum ConfigKind {
    /** Free text. */
    STRING,
    /** Text the UI masks and the API never echoes back (credentials, tokens). */
    SECRET,
    /** A whole number (JSON integer). */
    INTEGER,
    /** A decimal number (JSON number). */
    NUMBER,
    /** {@code true} or {@code false}. */
    BOOLEAN,
    /** One of {@link ConfigProperty#allowedValues()}. */
    ENUM,
    /** A list of strings. */
    STRING_LIST,
    /** A map of string to string, such as a node selector or labels. */
    STRING_MAP,
    /** A duration in ISO-8601 ({@code PT5M}) or short form ({@code 5m}, {@code 30s}, {@code 2h}, {@code 7d}). */
    DURATION,
    /** A Quartz cron expression with seconds, such as {@code 0 0 3 ? * MON}. */
    CRON
}
