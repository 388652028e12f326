package dev.flywheel.server.blobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.NoSuchElementException;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalBlobStoreTest {

    @TempDir
    Path dir;

    @Test
    void contentIsStoredUnderItsSha256AndReadBack() throws Exception {
        var store = new LocalBlobStore(dir.resolve("blobs"));
        byte[] content = "a predict payload".getBytes(StandardCharsets.UTF_8);
        Blob blob = store.put(content);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        assertThat(blob).isEqualTo(new Blob(sha, content.length));
        assertThat(dir.resolve("blobs").resolve(sha.substring(0, 2)).resolve(sha.substring(2, 4)).resolve(sha))
                .hasBinaryContent(content);
        assertThat(store.contains(sha)).isTrue();
        assertThat(store.read(sha)).isEqualTo(content);
        Path copy = dir.resolve("copy");
        store.copyTo(sha, copy);
        assertThat(copy).hasBinaryContent(content);
    }

    @Test
    void identicalContentIsKeptOnceEvenWhenStoredConcurrently() throws Exception {
        var store = new LocalBlobStore(dir.resolve("blobs"));
        byte[] content = new byte[256 * 1024];
        new java.util.Random(7).nextBytes(content);
        var pool = Executors.newFixedThreadPool(8);
        try {
            var futures = new java.util.ArrayList<java.util.concurrent.Future<Blob>>();
            for (int i = 0; i < 32; i++) {
                futures.add(pool.submit(() -> store.put(content)));
            }
            String sha = futures.get(0).get().sha256();
            for (var f : futures) {
                assertThat(f.get().sha256()).isEqualTo(sha);
            }
        } finally {
            pool.shutdown();
        }
        try (Stream<Path> files = Files.walk(dir.resolve("blobs"))) {
            assertThat(files.filter(Files::isRegularFile)).hasSize(1);
        }
    }

    @Test
    void unknownOrMalformedAddressesAreNotFound() {
        var store = new LocalBlobStore(dir.resolve("blobs"));
        assertThatThrownBy(() -> store.open("0".repeat(64))).isInstanceOf(NoSuchElementException.class);
        assertThatThrownBy(() -> store.open("../../etc/passwd")).isInstanceOf(NoSuchElementException.class);
        assertThat(store.contains("../x")).isFalse();
    }
}
