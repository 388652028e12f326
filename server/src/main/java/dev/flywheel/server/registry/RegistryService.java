package dev.flywheel.server.registry;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.blobs.Blob;
import dev.flywheel.server.blobs.BlobStore;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Json;
import dev.flywheel.server.http.Page;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.persistence.Ids;
import dev.flywheel.server.serving.ModelRuntimes;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelMetadata;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Stream;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model registry: models, and their immutable, numbered versions. A version is only registered once its runtime
 * has loaded it and run a forward pass on it, so every registered version can be served; anything wrong with an
 * upload is refused with a 400 that says why, and leaves neither a blob nor a row behind.
 */
public final class RegistryService {

    private static final Logger LOG = LoggerFactory.getLogger(RegistryService.class);

    private final RegistryStore store;
    private final BlobStore blobs;
    private final ModelRuntimes runtimes;
    private final EventService events;
    private final Clock clock;
    private final Path stagingRoot;
    private final Path modelsRoot;

    /**
     * @param dataDir uploads are checked under {@code <dataDir>/tmp/uploads}; registered versions are laid out for
     *     their runtime under {@code <dataDir>/models/<version id>}
     */
    public RegistryService(RegistryStore store, BlobStore blobs, ModelRuntimes runtimes, EventService events,
            Clock clock, Path dataDir) {
        this.store = store;
        this.blobs = blobs;
        this.runtimes = runtimes;
        this.events = events;
        this.clock = clock;
        this.stagingRoot = dataDir.resolve("tmp").resolve("uploads");
        this.modelsRoot = dataDir.resolve("models");
        try {
            Files.createDirectories(stagingRoot);
            Files.createDirectories(modelsRoot);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the model directories under " + dataDir, e);
        }
    }

    public Model createModel(String name, Principal by) {
        if (name == null || name.isBlank()) {
            throw ApiException.badRequest("invalid_field", "name is required");
        }
        if (name.length() > 200 || name.chars().anyMatch(Character::isISOControl)) {
            throw ApiException.badRequest("invalid_field", "name must be at most 200 characters, without control characters");
        }
        if (store.modelNameExists(name)) {
            throw ApiException.conflict("model_exists", "a model named '" + name + "' already exists");
        }
        String id = Ids.next("mdl");
        try {
            store.insertModel(id, name, by.actor(), clock.instant());
        } catch (UnableToExecuteStatementException e) {
            if (store.modelNameExists(name)) {
                throw ApiException.conflict("model_exists", "a model named '" + name + "' already exists");
            }
            throw e;
        }
        events.event("model.created", "model '" + name + "' created").actor(by.actor()).subject("model", id)
                .data(java.util.Map.of("name", name)).record();
        return getModel(id);
    }

    public Page<Model> listModels(PageRequest page) {
        return page.page(store.listModels(page.after(), page.fetchSize()), Model::id);
    }

    public Model getModel(String id) {
        return store.findModel(id).orElseThrow(() -> ApiException.notFound("model", id));
    }

    /**
     * Checks and registers an uploaded version: the metadata against the contract, then the artifact by loading
     * it with its runtime; only then are the blob and the row written.
     *
     * @param modelId the model
     * @param metadataJson the {@code model.json} text
     * @param uploadedName the artifact's file name as uploaded, or {@code null}
     * @param artifact the artifact's content
     * @param by who uploads it
     */
    public ModelVersion register(String modelId, String metadataJson, String uploadedName, InputStream artifact,
            Principal by) {
        return register(modelId, metadataJson, uploadedName, artifact, null, null, by.actor());
    }

    /**
     * Registers a version that a training run made, with its lineage; checked exactly as an upload is.
     *
     * @param parentVersionId the version it was trained from
     * @param trainingRunId the run that trained it
     * @param actor who registers it (the run)
     */
    public ModelVersion register(String modelId, String metadataJson, String uploadedName, InputStream artifact,
            String parentVersionId, String trainingRunId, String actor) {
        getModel(modelId);
        ModelMetadata metadata = ModelMetadataJson.parse(metadataJson, runtimes.formats());
        String fileName = ArtifactLayout.artifactFileName(metadata.format(), uploadedName);
        Path staging;
        try {
            staging = Files.createTempDirectory(stagingRoot, "upload-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create an upload directory under " + stagingRoot, e);
        }
        try {
            ModelArtifact files = ArtifactLayout.write(staging, metadata, fileName, artifact);
            check(files);
            Blob blob = blobs.put(staging.resolve(fileName));
            String id = Ids.next("mv");
            Instant now = clock.instant();
            ModelVersion v = store.insertNextVersion(modelId, n -> new ModelVersion(id, modelId, n, metadata.format(),
                    ModelMetadataJson.toMap(metadata), fileName, blob.sha256(), blob.size(), parentVersionId, trainingRunId,
                    actor, now));
            var data = new LinkedHashMap<String, Object>();
            data.put("model_id", modelId);
            data.put("version", v.version());
            data.put("format", v.format());
            data.put("artifact_sha256", v.artifactSha256());
            data.put("artifact_size", v.artifactSize());
            if (trainingRunId != null) {
                data.put("parent_version_id", parentVersionId);
                data.put("training_run_id", trainingRunId);
            }
            events.event("model_version.registered", "version " + v.version() + " of model " + modelId
                    + " registered" + (trainingRunId == null ? "" : " by training run " + trainingRunId))
                    .actor(actor).subject("model_version", id).data(data).record();
            return v;
        } finally {
            deleteRecursively(staging);
        }
    }

    private void check(ModelArtifact files) {
        LoadedModel loaded;
        try {
            loaded = runtimes.load(files);
        } catch (InvalidModelException e) {
            throw ApiException.fromExtension(e, "invalid_model");
        }
        try {
            loaded.close();
        } catch (RuntimeException e) {
            LOG.warn("closing the model loaded to check an upload failed: {}", e.toString());
        }
    }

    public Page<ModelVersion> listVersions(String modelId, PageRequest page) {
        getModel(modelId);
        Integer after = page.afterInt();
        return page.page(store.listVersions(modelId, after == null ? 0 : after, page.fetchSize()), v -> Integer.toString(v.version()));
    }

    public ModelVersion getVersion(String id) {
        return store.findVersion(id).orElseThrow(() -> ApiException.notFound("model version", id));
    }

    /**
     * The version a request names in a field: an unknown id there is the request's mistake, a 400 naming the field
     * (not the 404 of a path that names it).
     */
    public ModelVersion versionNamedIn(String field, String id) {
        return store.findVersion(id).orElseThrow(() -> ApiException.badRequest("invalid_field", field
                + ": no model version with id '" + id + "'"));
    }

    /** Where a version came from; hand uploads have no parent, run or datasets. */
    public Lineage lineage(String id) {
        ModelVersion v = getVersion(id);
        List<String> datasets = v.trainingRunId() == null ? List.of() : runDatasets.apply(v.trainingRunId());
        return new Lineage(v.id(), v.modelId(), v.version(), v.parentVersionId(), v.trainingRunId(), datasets);
    }

    /**
     * Tells the registry how to find the dataset versions a training run used; the training capability provides it,
     * so that the registry does not depend on training.
     */
    public void runDatasets(java.util.function.Function<String, List<String>> source) {
        this.runDatasets = source;
    }

    private java.util.function.Function<String, List<String>> runDatasets = run -> List.of();

    /** A registered version's metadata as the runtimes take it. */
    public ModelMetadata metadataOf(ModelVersion v) {
        return ModelMetadataJson.parse(Json.write(v.metadata()));
    }

    /**
     * Lays a registered version's files out for its runtime under {@code <dataDir>/models/<version id>}, once: the
     * directory is built aside and moved into place, so it is either complete or absent.
     */
    public ModelArtifact materialize(ModelVersion v) {
        ModelMetadata metadata = metadataOf(v);
        Path dir = modelsRoot.resolve(v.id());
        if (!Files.isDirectory(dir)) {
            Path building;
            try {
                building = Files.createTempDirectory(modelsRoot, ".building-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a directory under " + modelsRoot, e);
            }
            try (InputStream in = blobs.open(v.artifactSha256())) {
                ArtifactLayout.write(building, metadata, v.artifactFile(), in);
                Files.move(building, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileSystemException e) {
                if (!Files.isDirectory(dir)) {
                    throw new UncheckedIOException("cannot lay out model version " + v.id() + " under " + dir, e);
                }
                // laid out by a concurrent load; that copy is as good as ours
            } catch (IOException e) {
                throw new UncheckedIOException("cannot lay out model version " + v.id() + " under " + dir, e);
            } finally {
                deleteRecursively(building);
            }
        }
        Path artifactPath = dir.resolve(ArtifactLayout.loadPath(v.format(), v.artifactFile()));
        return new ModelArtifact(dir, artifactPath, metadata);
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    LOG.warn("cannot delete {}: {}", p, e.toString());
                }
            });
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", dir, e.toString());
        }
    }
}
