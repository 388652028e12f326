package dev.flywheel.server.blobs;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.NoSuchElementException;

/**
 * A {@link BlobStore} on the local file system: {@code <root>/ab/cd/<sha256>}, two levels of fan-out so that no
 * directory grows too large. Content is written to a temporary file in {@code <root>/.tmp}, forced to disk, then
 * moved into place atomically, so a reader never sees a partial blob and a crash leaves at most a stray temporary.
 */
public final class LocalBlobStore implements BlobStore {

    private final Path root;
    private final Path tmp;

    public LocalBlobStore(Path root) {
        this.root = root.toAbsolutePath();
        this.tmp = this.root.resolve(".tmp");
        try {
            Files.createDirectories(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the blob directory " + tmp, e);
        }
    }

    @Override
    public Blob put(InputStream content) {
        Path temp = null;
        try {
            temp = Files.createTempFile(tmp, "blob-", ".part");
            MessageDigest digest = sha256();
            long size = 0;
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE);
                    OutputStream out = Channels.newOutputStream(channel)) {
                byte[] buffer = new byte[64 * 1024];
                int n;
                while ((n = content.read(buffer)) > 0) {
                    digest.update(buffer, 0, n);
                    out.write(buffer, 0, n);
                    size += n;
                }
                out.flush();
                // The caller records the address in the database next; the content must survive a crash before it.
                channel.force(true);
            }
            String sha = HexFormat.of().formatHex(digest.digest());
            Path target = path(sha);
            if (Files.exists(target)) {
                return new Blob(sha, size);
            }
            Files.createDirectories(target.getParent());
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException e) {
                // Another request stored the same content at the same moment; one copy is all we need.
            }
            return new Blob(sha, size);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store a blob under " + root, e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // a stray temporary file only costs space
                }
            }
        }
    }

    @Override
    public boolean contains(String sha256) {
        return SHA256.matcher(sha256).matches() && Files.isRegularFile(path(sha256));
    }

    @Override
    public InputStream open(String sha256) {
        if (!SHA256.matcher(sha256).matches()) {
            throw new NoSuchElementException("not a blob address: " + sha256);
        }
        try {
            return Files.newInputStream(path(sha256));
        } catch (NoSuchFileException e) {
            throw new NoSuchElementException("no blob " + sha256 + " under " + root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open blob " + sha256, e);
        }
    }

    /** Where content with that address lives. */
    Path path(String sha256) {
        return root.resolve(sha256.substring(0, 2)).resolve(sha256.substring(2, 4)).resolve(sha256);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
