package dev.flywheel.server.serving;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Page;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.persistence.Ids;
import dev.flywheel.server.registry.ModelVersion;
import dev.flywheel.server.registry.RegistryService;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * Deployments: creating them (which loads their model, so that a deployment that exists can serve), reading them,
 * and handing them to the predict path from memory.
 */
public final class DeploymentService {

    /**
     * How long the predict path trusts its copy of a deployment. Changes made through this service apply at once on
     * this node; the bound only matters for changes made by another replica on the shared database. A promotion or
     * rollback made on one replica therefore reaches the others within this bound: meanwhile they keep serving the
     * old primary, and every request is still served wholly by one version, old or new.
     */
    private static final long SERVING_CACHE_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final DeploymentStore store;
    private final RegistryService registry;
    private final ModelCache models;
    private final EventService events;
    private final Clock clock;
    private final Map<String, Cached> serving = new ConcurrentHashMap<>();
    /** Bumped by every change, so that a copy read before a change is never cached after it. */
    private final AtomicLong changes = new AtomicLong();

    private record Cached(Deployment deployment, long loadedAt) {}

    public DeploymentService(DeploymentStore store, RegistryService registry, ModelCache models, EventService events,
            Clock clock) {
        this.store = store;
        this.registry = registry;
        this.models = models;
        this.events = events;
        this.clock = clock;
    }

    /**
     * Creates a deployment of a model version, loading the model first.
     *
     * @param settings {@code capture_mode}, or {@code null} for the defaults
     */
    public Deployment create(String name, String modelVersionId, Map<String, Object> settings, Principal by) {
        if (name == null || name.isBlank()) {
            throw ApiException.badRequest("invalid_field", "name is required");
        }
        if (name.length() > 200 || name.chars().anyMatch(Character::isISOControl)) {
            throw ApiException.badRequest("invalid_field", "name must be at most 200 characters, without control characters");
        }
        if (modelVersionId == null || modelVersionId.isBlank()) {
            throw ApiException.badRequest("invalid_field", "model_version_id is required");
        }
        DeploymentSettings parsed = DeploymentSettings.from(settings);
        ModelVersion version = registry.versionNamedIn("model_version_id", modelVersionId);
        if (store.nameExists(name)) {
            throw ApiException.conflict("deployment_exists", "a deployment named '" + name + "' already exists");
        }
        models.get(version.id());
        var d = new Deployment(Ids.next("dep"), name, version.id(), null, null, null, parsed, null, by.actor(),
                clock.instant());
        try {
            store.insert(d);
        } catch (UnableToExecuteStatementException e) {
            if (store.nameExists(name)) {
                throw ApiException.conflict("deployment_exists", "a deployment named '" + name + "' already exists");
            }
            throw e;
        }
        var data = new LinkedHashMap<String, Object>();
        data.put("name", name);
        data.put("model_version_id", version.id());
        data.put("model_id", version.modelId());
        data.put("version", version.version());
        data.put("capture_mode", parsed.captureMode());
        events.event("deployment.created", "deployment '" + name + "' created serving version " + version.version()
                + " of model " + version.modelId()).actor(by.actor()).deployment(d.id()).subject("deployment", d.id())
                .data(data).record();
        return d;
    }

    /** Changes some of a deployment's settings; the others keep their values. */
    public Deployment updateSettings(String id, Map<String, Object> changes, Principal by) {
        Deployment d = get(id);
        if (changes == null || changes.isEmpty()) {
            throw ApiException.badRequest("invalid_field", "send the settings to change, such as "
                    + "{\"review_confidence_threshold\": 0.7}");
        }
        DeploymentSettings updated = d.settings().with(changes);
        store.updateSettings(id, updated);
        invalidate(id);
        events.event("deployment.settings_changed", "settings of deployment '" + d.name() + "' changed")
                .actor(by.actor()).deployment(id).subject("deployment", id)
                .data(Map.of("before", d.settings().toMap(), "after", updated.toMap())).record();
        return get(id);
    }

    /** Names the training data drift is measured against (the dataset version must exist). */
    public Deployment setReference(String id, String datasetVersionId, Principal by) {
        Deployment d = get(id);
        store.updateReference(id, datasetVersionId);
        invalidate(id);
        events.event("deployment.reference_set", "reference data of deployment '" + d.name() + "' set to dataset "
                + "version " + datasetVersionId).actor(by.actor()).deployment(id).subject("deployment", id)
                .data(Map.of("dataset_version_id", datasetVersionId)).record();
        return get(id);
    }

    public Page<Deployment> list(PageRequest page) {
        return page.page(store.list(page.after(), page.fetchSize()), Deployment::id);
    }

    /** Deployments that have a shadow now, for background work on their shadows. */
    public List<Deployment> shadowed() {
        return store.shadowed();
    }

    public Deployment get(String id) {
        return store.find(id).orElseThrow(() -> ApiException.notFound("deployment", id));
    }

    /** A deployment for the predict path, without a database round trip on most requests. */
    public Deployment forServing(String id) {
        long now = System.nanoTime();
        Cached c = serving.get(id);
        if (c != null && now - c.loadedAt() < SERVING_CACHE_NANOS) {
            return c.deployment();
        }
        long seen = changes.get();
        Deployment d = get(id);
        // Atomic with invalidate's remove: a copy read before a change made meanwhile is used once, never cached.
        serving.compute(id, (k, old) -> changes.get() == seen ? new Cached(d, now) : old);
        return d;
    }

    /**
     * Sets, replaces or removes the shadow if it is still {@code expectedShadow}; this node serves the change at once.
     *
     * @param shadow the new shadow version (loaded by the caller first), or {@code null} to remove it
     * @return the deployment after the change, or empty when the shadow had changed meanwhile
     */
    public java.util.Optional<Deployment> changeShadow(String id, String expectedShadow, String shadow) {
        boolean done = store.setShadow(id, expectedShadow, shadow, shadow == null ? null : clock.instant());
        invalidate(id);
        return done ? java.util.Optional.of(get(id)) : java.util.Optional.empty();
    }

    /**
     * Makes another version the primary if the primary is still {@code expectedPrimary}, keeping the old one for a
     * rollback; this node serves the new primary from the next request on. The caller loads the new version first, so
     * that no request waits for the load.
     *
     * @return the deployment after the change, or empty when the primary had changed meanwhile
     */
    public java.util.Optional<Deployment> replacePrimary(String id, String expectedPrimary, String newPrimary) {
        boolean done = store.replacePrimary(id, expectedPrimary, newPrimary, clock.instant());
        invalidate(id);
        return done ? java.util.Optional.of(get(id)) : java.util.Optional.empty();
    }

    /**
     * Restores the previous primary if the primary is still {@code expectedPrimary}; served at once on this node.
     *
     * @return the deployment after the change, or empty when it had changed meanwhile
     */
    public java.util.Optional<Deployment> rollback(String id, String expectedPrimary, String previous) {
        boolean done = store.rollback(id, expectedPrimary, previous, clock.instant());
        invalidate(id);
        return done ? java.util.Optional.of(get(id)) : java.util.Optional.empty();
    }

    private void invalidate(String id) {
        changes.incrementAndGet();
        serving.remove(id);
    }
}
