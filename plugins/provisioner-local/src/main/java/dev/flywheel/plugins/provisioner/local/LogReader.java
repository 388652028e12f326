package dev.flywheel.plugins.provisioner.local;

import dev.flywheel.spi.provisioner.LogChunk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads a job log in chunks by <em>byte</em> offset. Offsets count UTF-8 bytes, not characters, so that a
 * chunk can be found in a file of any size without decoding what came before; a chunk always ends on a
 * character boundary, so the server can append the chunks it receives and get the log intact.
 */
final class LogReader {

    /** The most bytes one chunk holds, so that a huge log reaches the server in bounded pieces. */
    static final int MAX_CHUNK_BYTES = 1 << 20;

    private LogReader() {}

    /**
     * Reads from {@code fromOffset} on.
     *
     * @param file the log
     * @param fromOffset the byte offset to start at, normally the previous chunk's {@code nextOffset}
     * @param maxBytes the most bytes to return (at least 4, one UTF-8 character)
     * @param ended whether the writer has ended; it must be decided before the call, so that nothing written
     *     between the check and the read is taken as the end
     */
    static LogChunk read(Path file, long fromOffset, int maxBytes, boolean ended) throws IOException {
        long from = Math.max(0, fromOffset);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (from >= size) {
                return new LogChunk("", from, ended);
            }
            int length = (int) Math.min(maxBytes, size - from);
            ByteBuffer buffer = ByteBuffer.allocate(length);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, from + buffer.position()) < 0) {
                    break;
                }
            }
            int read = buffer.position();
            byte[] bytes = buffer.array();
            boolean toEnd = from + read >= size;
            // A writer that has ended will not complete a broken last character, so it is returned as is
            // (decoded as U+FFFD) rather than held back forever.
            int whole = ended && toEnd ? read : wholeCharacters(bytes, read);
            String text = new String(bytes, 0, whole, StandardCharsets.UTF_8);
            long next = from + whole;
            return new LogChunk(text, next, ended && next >= size);
        } catch (NoSuchFileException e) {
            return new LogChunk("", from, ended);
        }
    }

    /** How many of the first {@code length} bytes form whole UTF-8 characters: a cut sequence at the end is left out. */
    static int wholeCharacters(byte[] bytes, int length) {
        // The last lead byte lies within the last four bytes of a valid sequence.
        for (int i = length - 1; i >= Math.max(0, length - 4); i--) {
            int b = bytes[i] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue;
            }
            int sequenceLength = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return i + sequenceLength > length ? i : length;
        }
        // Only continuation bytes: invalid UTF-8, which no later byte can repair; pass it on.
        return length;
    }
}
