package dev.flywheel.server.datasets;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.blobs.Blob;
import dev.flywheel.server.blobs.BlobStore;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Json;
import dev.flywheel.server.http.Page;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.persistence.Ids;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Datasets, their versions and items, and the export that training jobs read (the "Training job" contract's
 * {@code manifest.jsonl} + {@code assets/}).
 */
public final class DatasetService {

    /** The split of an item that does not name one is decided by its content, so duplicates never straddle splits. */
    public static final double DEFAULT_VALIDATION_FRACTION = 0.2;

    private static final int MAX_FEATURES = 1_000_000;

    private final DatasetStore store;
    private final BlobStore blobs;
    private final EventService events;
    private final Clock clock;

    public DatasetService(DatasetStore store, BlobStore blobs, EventService events, Clock clock) {
        this.store = store;
        this.blobs = blobs;
        this.events = events;
        this.clock = clock;
    }

    public Dataset createDataset(String name, String description, Principal by) {
        requireName("name", name);
        if (store.datasetNameTaken(name.trim())) {
            throw ApiException.conflict("dataset_exists", "a dataset named '" + name.trim() + "' already exists");
        }
        var d = new Dataset(Ids.next("ds"), name.trim(), description == null ? "" : description, by.actor(),
                clock.instant());
        store.insertDataset(d);
        events.event("dataset.created", "dataset '" + d.name() + "' created").actor(by.actor())
                .subject("dataset", d.id()).record();
        return d;
    }

    public Dataset dataset(String id) {
        return store.findDataset(id).orElseThrow(() -> ApiException.notFound("dataset", id));
    }

    public Page<Dataset> datasets(PageRequest page) {
        return page.page(store.listDatasets(page.after(), page.fetchSize()), Dataset::id);
    }

    /**
     * Creates a version.
     *
     * @param labels the permitted labels, or {@code null} for any
     * @param validationFraction the validation share for items without a split, or {@code null} for the default
     */
    public DatasetVersion createVersion(String datasetId, String name, List<String> labels, Double validationFraction,
            Principal by) {
        dataset(datasetId);
        requireName("name", name);
        if (labels != null) {
            if (labels.isEmpty() || labels.stream().anyMatch(l -> l == null || l.isBlank() || l.length() > 200)) {
                throw ApiException.badRequest("invalid_field", "labels must be a non-empty list of non-blank labels");
            }
            if (new HashSet<>(labels).size() != labels.size()) {
                throw ApiException.badRequest("invalid_field", "labels must not repeat");
            }
        }
        double fraction = validationFraction == null ? DEFAULT_VALIDATION_FRACTION : validationFraction;
        if (!(fraction >= 0 && fraction < 1)) {
            throw ApiException.badRequest("invalid_field", "validation_fraction must be at least 0 and below 1");
        }
        if (store.versionNameTaken(datasetId, name.trim())) {
            throw ApiException.conflict("dataset_version_exists", "the dataset already has a version named '"
                    + name.trim() + "'");
        }
        String id = Ids.next("dsv");
        store.insertVersion(id, datasetId, name.trim(), labels, fraction, by.actor(), clock.instant());
        events.event("dataset_version.created", "dataset version '" + name.trim() + "' created").actor(by.actor())
                .subject("dataset_version", id).data(Map.of("dataset_id", datasetId)).record();
        return version(id);
    }

    public DatasetVersion version(String id) {
        return store.findVersion(id).orElseThrow(() -> ApiException.notFound("dataset version", id));
    }

    /** The dataset version a request names in a field: an unknown id there is a 400 naming the field. */
    public DatasetVersion versionNamedIn(String field, String id) {
        return store.findVersion(id).orElseThrow(() -> ApiException.badRequest("invalid_field", field
                + ": no dataset version with id '" + id + "'"));
    }

    public Page<DatasetVersion> versions(String datasetId, PageRequest page) {
        dataset(datasetId);
        return page.page(store.listVersions(datasetId, page.after(), page.fetchSize()), DatasetVersion::id);
    }

    /** Adds a feature-vector item; its asset is the predict payload {@code {"features": [...]}}. */
    public DatasetItem addFeatures(String versionId, List<Double> features, String label, String split, Principal by) {
        if (features == null || features.isEmpty() || features.size() > MAX_FEATURES) {
            throw ApiException.badRequest("invalid_field", "features must be a non-empty list of numbers");
        }
        for (int i = 0; i < features.size(); i++) {
            Double f = features.get(i);
            if (f == null || f.isNaN() || f.isInfinite()) {
                throw ApiException.badRequest("invalid_field", "features[" + i + "] must be a finite number");
            }
        }
        byte[] payload = Json.write(Map.of("features", features)).getBytes(StandardCharsets.UTF_8);
        return add(versionId, payload, "application/json", label, split, null, by.actor());
    }

    /** Adds an image item; its asset is the image bytes exactly as sent. */
    public DatasetItem addImage(String versionId, byte[] image, String label, String split, Principal by) {
        String contentType = ImageTypes.detect(image);
        if (contentType == null) {
            throw ApiException.badRequest("invalid_field", "file must be a PNG or JPEG image");
        }
        return add(versionId, image, contentType, label, split, null, by.actor());
    }

    private DatasetItem add(String versionId, byte[] payload, String contentType, String label, String split,
            String predictionId, String actor) {
        DatasetVersion v = version(versionId);
        checkLabel(v, label);
        if (split != null && !split.equals("train") && !split.equals("validation")) {
            throw ApiException.badRequest("invalid_field", "split must be train or validation");
        }
        Blob blob = blobs.put(payload);
        var item = new DatasetItem(Ids.next("itm"), 0, versionId, blob.sha256(), contentType, blob.size(), label,
                split != null ? split : splitFor(blob.sha256(), v.validationFraction()), predictionId, actor,
                clock.instant());
        store.jdbi().useHandle(h -> store.insertItem(h, item));
        return store.findItem(item.id()).orElseThrow();
    }

    /** Refuses a label the version does not allow; naming what it allows. */
    static void checkLabel(DatasetVersion v, String label) {
        if (label == null || label.isBlank() || label.length() > 200) {
            throw ApiException.badRequest("invalid_field", "label is required (1 to 200 characters)");
        }
        if (v.labels() != null && !v.labels().contains(label)) {
            throw ApiException.badRequest("invalid_label", "label '" + label + "' is not one of this dataset version's "
                    + "labels " + v.labels());
        }
    }

    /**
     * The split of an item without one: the first 32 bits of its content hash, as a fraction, against the validation
     * fraction. Deterministic, so exports and re-imports agree, and identical assets always share a split.
     */
    public static String splitFor(String sha256, double validationFraction) {
        double u = Long.parseLong(sha256.substring(0, 8), 16) / (double) (1L << 32);
        return u < validationFraction ? "validation" : "train";
    }

    /** The first items of a version, for statistics such as a drift reference. */
    public List<DatasetItem> firstItems(String versionId, int limit) {
        return store.listItems(versionId, null, null, null, null, limit);
    }

    public Page<DatasetItem> items(String versionId, String split, String label, PageRequest page) {
        version(versionId);
        return page.page(store.listItems(versionId, page.afterNumber(), null, split, label, page.fetchSize()),
                i -> Long.toString(i.seq()));
    }

    /**
     * Writes a version as the training job contract's zip: {@code manifest.jsonl} (one item a line) and
     * {@code assets/}, each asset exactly its predict payload.
     *
     * @param upTo only items up to this position (a run's high-water mark), or {@code null} for all
     */
    public void export(String versionId, Long upTo, OutputStream out) {
        DatasetVersion v = version(versionId);
        // Pinned before reading, so the manifest and the assets describe the same items while reviews keep adding.
        long limit = upTo != null ? Math.min(upTo, v.highWaterMark()) : v.highWaterMark();
        try (var zip = new ZipOutputStream(out)) {
            // Two passes over the items (manifest first, then assets) keep memory flat for versions of any size.
            zip.putNextEntry(new ZipEntry("manifest.jsonl"));
            store.forEachItem(versionId, limit, item -> {
                var line = new LinkedHashMap<String, Object>();
                line.put("id", item.id());
                line.put("asset", assetPath(item));
                line.put("content_type", item.contentType());
                line.put("label", item.label());
                line.put("split", item.split());
                if (item.sourcePredictionId() != null) {
                    line.put("prediction_id", item.sourcePredictionId());
                }
                write(zip, (Json.write(line) + "\n").getBytes(StandardCharsets.UTF_8));
            });
            zip.closeEntry();
            store.forEachItem(versionId, limit, item -> {
                try {
                    zip.putNextEntry(new ZipEntry(assetPath(item)));
                    try (var in = blobs.open(item.assetSha256())) {
                        in.transferTo(zip);
                    }
                    zip.closeEntry();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String assetPath(DatasetItem item) {
        return "assets/" + item.id() + ImageTypes.extension(item.contentType());
    }

    private static void write(OutputStream out, byte[] bytes) {
        try {
            out.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void requireName(String field, String name) {
        if (name == null || name.isBlank() || name.length() > 200) {
            throw ApiException.badRequest("invalid_field", field + " is required (1 to 200 characters)");
        }
    }
}
