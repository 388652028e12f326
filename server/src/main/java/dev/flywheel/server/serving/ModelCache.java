package dev.flywheel.server.serving;

import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.registry.ModelVersion;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loaded models, keyed by model version id: each version is loaded once, by the runtime of its format, and
 * shared by every deployment that serves it. Concurrent first requests for a version wait for the one load in
 * progress instead of loading it again; a load that fails is not remembered, so the next request tries again.
 */
public final class ModelCache implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);

    private final RegistryService registry;
    private final ModelRuntimes runtimes;
    private final ConcurrentHashMap<String, CompletableFuture<LoadedModel>> models = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public ModelCache(RegistryService registry, ModelRuntimes runtimes) {
        this.registry = registry;
        this.runtimes = runtimes;
    }

    /**
     * The loaded model of a version, loading it on first use.
     *
     * @throws ApiException 404 for an unknown version, 409 when no runtime loads its format, 502 when loading failed
     */
    public LoadedModel get(String versionId) {
        if (closed) {
            throw new ApiException(503, "shutting_down", "the server is shutting down");
        }
        CompletableFuture<LoadedModel> future = models.get(versionId);
        if (future == null) {
            var mine = new CompletableFuture<LoadedModel>();
            future = models.putIfAbsent(versionId, mine);
            if (future == null) {
                future = mine;
                try {
                    mine.complete(load(versionId));
                } catch (RuntimeException e) {
                    models.remove(versionId, mine);
                    mine.completeExceptionally(e);
                }
            }
        }
        try {
            return future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** How many versions are loaded (for tests and health). */
    public int size() {
        return (int) models.values().stream().filter(f -> f.isDone() && !f.isCompletedExceptionally()).count();
    }

    private LoadedModel load(String versionId) {
        ModelVersion version = registry.getVersion(versionId);
        ModelArtifact artifact = registry.materialize(version);
        long start = System.nanoTime();
        try {
            LoadedModel model = runtimes.load(artifact);
            LOG.info("model version {} ({} v{}) loaded in {} ms", versionId, version.modelId(), version.version(),
                    (System.nanoTime() - start) / 1_000_000);
            return model;
        } catch (InvalidModelException e) {
            // It loaded when it was uploaded; refusing it now means the runtime changed, not the model.
            throw new ApiException(502, "model_load_failed", "model version " + versionId + " was accepted when it was"
                    + " uploaded, but its runtime now refuses it: " + e.getMessage());
        }
    }

    /** Closes every loaded model; runtimes are closed after this. */
    @Override
    public void close() {
        closed = true;
        for (CompletableFuture<LoadedModel> f : new ArrayList<>(models.values())) {
            if (f.isDone() && !f.isCompletedExceptionally()) {
                try {
                    f.join().close();
                } catch (RuntimeException | LinkageError e) {
                    LOG.warn("a model did not close cleanly: {}", e.toString());
                }
            }
        }
        models.clear();
    }
}
