package dev.flywheel.spi.provisioner;

/**
 * A piece of a job's console output.
 *
 * @param text the characters from the requested offset on (possibly empty)
 * @param nextOffset the offset to ask from next time
 * @param complete whether the log is finished (the job ended and everything was returned)
 */
public record LogChunk(String text, long nextOffset, boolean complete) {}
