package dev.flywheel.plugins.provisioner.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.spi.provisioner.LogChunk;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a log in byte-offset chunks without ever splitting a character. */
class LogReaderTest {

    @TempDir
    Path temp;

    @Test
    void readsFromAnOffsetToTheEnd() throws Exception {
        Path log = Files.writeString(temp.resolve("job.log"), "hello\nworld\n");

        assertThat(LogReader.read(log, 6, 1024, false)).isEqualTo(new LogChunk("world\n", 12, false));
        assertThat(LogReader.read(log, 6, 1024, true)).isEqualTo(new LogChunk("world\n", 12, true));
        assertThat(LogReader.read(log, 12, 1024, true)).isEqualTo(new LogChunk("", 12, true));
    }

    @Test
    void aCappedChunkIsNotComplete() throws Exception {
        Path log = Files.writeString(temp.resolve("job.log"), "0123456789");

        LogChunk first = LogReader.read(log, 0, 4, true);
        LogChunk second = LogReader.read(log, first.nextOffset(), 100, true);

        assertThat(first).isEqualTo(new LogChunk("0123", 4, false));
        assertThat(second).isEqualTo(new LogChunk("456789", 10, true));
    }

    @Test
    void neverSplitsAMultiByteCharacter() throws Exception {
        String text = "aé€😀z";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        Path log = Files.write(temp.resolve("job.log"), bytes);

        // Every cap from one character's width up, read chunk after chunk, must give back the text intact.
        for (int cap = 4; cap <= bytes.length; cap++) {
            StringBuilder received = new StringBuilder();
            long offset = 0;
            LogChunk chunk;
            do {
                chunk = LogReader.read(log, offset, cap, true);
                assertThat(chunk.text()).doesNotContain("\uFFFD");
                received.append(chunk.text());
                offset = chunk.nextOffset();
            } while (!chunk.complete());
            assertThat(received.toString()).as("cap %d", cap).isEqualTo(text);
        }
    }

    @Test
    void holdsBackACharacterStillBeingWritten() throws Exception {
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        Path log = Files.write(temp.resolve("job.log"), concat("ok ".getBytes(StandardCharsets.UTF_8),
                Arrays.copyOf(euro, 2)));

        assertThat(LogReader.read(log, 0, 1024, false)).isEqualTo(new LogChunk("ok ", 3, false));

        Files.write(log, concat("ok ".getBytes(StandardCharsets.UTF_8), euro));
        assertThat(LogReader.read(log, 3, 1024, false)).isEqualTo(new LogChunk("€", 6, false));
    }

    @Test
    void aBrokenLastCharacterOfAnEndedLogIsStillReturned() throws Exception {
        Path log = Files.write(temp.resolve("job.log"), new byte[] {'o', 'k', (byte) 0xE2, (byte) 0x82});

        LogChunk chunk = LogReader.read(log, 0, 1024, true);

        assertThat(chunk.text()).startsWith("ok").contains("\uFFFD");
        assertThat(chunk.nextOffset()).isEqualTo(4);
        assertThat(chunk.complete()).isTrue();
    }

    @Test
    void aMissingLogIsEmpty() throws Exception {
        assertThat(LogReader.read(temp.resolve("none.log"), 0, 1024, false)).isEqualTo(new LogChunk("", 0, false));
        assertThat(LogReader.read(temp.resolve("none.log"), 0, 1024, true)).isEqualTo(new LogChunk("", 0, true));
    }

    @Test
    void wholeCharactersCountsOnlyCompleteSequences() {
        byte[] bytes = "a😀".getBytes(StandardCharsets.UTF_8);

        assertThat(LogReader.wholeCharacters(bytes, 5)).isEqualTo(5);
        assertThat(LogReader.wholeCharacters(bytes, 4)).isEqualTo(1);
        assertThat(LogReader.wholeCharacters(bytes, 2)).isEqualTo(1);
        assertThat(LogReader.wholeCharacters(bytes, 1)).isEqualTo(1);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
