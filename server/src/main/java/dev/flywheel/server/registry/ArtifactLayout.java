package dev.flywheel.server.registry;

import dev.flywheel.server.http.ApiException;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelMetadata;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;

/**
 * The on-disk layout of a model version that a runtime loads: {@code model.json} next to the artifact, which is a
 * single file ({@code model.pt}) or, for archive formats, the directory a {@code .zip} unpacks to. The same layout
 * is used to check an upload and to serve a registered version, so what was checked is what is served.
 */
public final class ArtifactLayout {

    /** The metadata file of a model directory. */
    public static final String METADATA_FILE = "model.json";

    /** Formats whose artifact is a zip of a directory. */
    private static final Set<String> ARCHIVE_FORMATS = Set.of("djl");
    private static final Pattern EXTENSION = Pattern.compile("\\.([A-Za-z0-9]{1,10})$");
    private static final int MAX_ZIP_ENTRIES = 10_000;
    private static final long MAX_UNZIPPED_BYTES = 8L * 1024 * 1024 * 1024;

    private ArtifactLayout() {}

    /** The name an uploaded artifact is kept under: {@code model.pt}, {@code model.zip}, or {@code model.<ext>}. */
    public static String artifactFileName(String format, String uploadedName) {
        if (ARCHIVE_FORMATS.contains(format)) {
            return "model.zip";
        }
        if ("torchscript".equals(format)) {
            return "model.pt";
        }
        Matcher m = EXTENSION.matcher(uploadedName == null ? "" : uploadedName);
        return m.find() ? "model." + m.group(1).toLowerCase(java.util.Locale.ROOT) : "model.bin";
    }

    /** Where, relative to the model directory, the runtime finds the artifact: the file, or the unpacked archive. */
    public static String loadPath(String format, String artifactFileName) {
        return ARCHIVE_FORMATS.contains(format) ? "model" : artifactFileName;
    }

    /**
     * Writes a model directory.
     *
     * @param dir an empty directory
     * @param metadata the parsed metadata
     * @param artifactFileName from {@link #artifactFileName}
     * @param artifact the artifact's content
     * @return what a runtime loads
     * @throws ApiException 400 {@code invalid_model} when an archive cannot be unpacked
     */
    public static ModelArtifact write(Path dir, ModelMetadata metadata, String artifactFileName, InputStream artifact) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(METADATA_FILE), ModelMetadataJson.write(metadata), StandardCharsets.UTF_8);
            Path file = dir.resolve(artifactFileName);
            Files.copy(artifact, file, StandardCopyOption.REPLACE_EXISTING);
            if (Files.size(file) == 0) {
                throw ApiException.badRequest("invalid_model", "the model file is empty");
            }
            if (!ARCHIVE_FORMATS.contains(metadata.format())) {
                return new ModelArtifact(dir, file, metadata);
            }
            Path unpacked = dir.resolve(loadPath(metadata.format(), artifactFileName));
            unzip(file, unpacked);
            return new ModelArtifact(dir, unpacked, metadata);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the model directory " + dir, e);
        }
    }

    private static void unzip(Path zip, Path target) throws IOException {
        Files.createDirectories(target);
        int entries = 0;
        long total = 0;
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                if (++entries > MAX_ZIP_ENTRIES) {
                    throw ApiException.badRequest("invalid_model", "the zip has more than " + MAX_ZIP_ENTRIES + " entries");
                }
                Path out = target.resolve(e.getName()).normalize();
                if (!out.startsWith(target) || e.getName().startsWith("/")) {
                    throw ApiException.badRequest("invalid_model", "the zip entry '" + e.getName()
                            + "' points outside the archive");
                }
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                    continue;
                }
                Files.createDirectories(out.getParent());
                try (OutputStream os = Files.newOutputStream(out)) {
                    byte[] buffer = new byte[64 * 1024];
                    int n;
                    while ((n = in.read(buffer)) > 0) {
                        total += n;
                        if (total > MAX_UNZIPPED_BYTES) {
                            throw ApiException.badRequest("invalid_model", "the zip unpacks to more than "
                                    + MAX_UNZIPPED_BYTES + " bytes");
                        }
                        os.write(buffer, 0, n);
                    }
                }
            }
        } catch (ZipException e) {
            throw ApiException.badRequest("invalid_model", "the model file is not a valid zip archive: " + e.getMessage());
        }
        if (entries == 0) {
            throw ApiException.badRequest("invalid_model", "the model file is not a zip archive of a model directory"
                    + " (or the archive is empty)");
        }
    }
}
