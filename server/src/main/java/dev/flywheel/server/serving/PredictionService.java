package dev.flywheel.server.serving;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.blobs.Blob;
import dev.flywheel.server.blobs.BlobStore;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Page;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.persistence.Ids;
import dev.flywheel.server.registry.ModelVersion;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.spi.runtime.InvalidInputException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelOutput;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.InputStream;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Serving and capture: runs a deployment's model on a request's input and logs every prediction (the input as a
 * blob, the row through the {@link PredictionWriter}); logs predictions made elsewhere; reads them back.
 *
 * <p>A request that fails logs nothing: the input is stored and the row queued only once the model has answered.
 * Failures are counted in {@code flywheel_predictions_total} by outcome instead.
 */
public final class PredictionService {

    /** How long a durable request waits for its row to be committed before it answers 503. */
    private static final long CAPTURE_TIMEOUT_SECONDS = 30;

    private final DeploymentService deployments;
    private final ModelCache models;
    private final ModelRuntimes runtimes;
    private final RegistryService registry;
    private final BlobStore blobs;
    private final PredictionWriter writer;
    private final PredictionStore store;
    private final ModelFailures failures;
    private final MeterRegistry meters;
    private final Clock clock;
    private volatile ShadowHook shadow = ShadowHook.NONE;

    /**
     * Hands each served prediction's input to the deployment's shadow model, if it has one. Called on the request
     * thread after the primary has answered and before the row is queued, so it must only queue work, never run it.
     */
    public interface ShadowHook {

        /** No shadow runs. */
        ShadowHook NONE = new ShadowHook() {
            @Override
            public Prediction dispatch(Deployment d, Prediction p, dev.flywheel.spi.runtime.ModelInput input) {
                return p;
            }

            @Override
            public void abandoned(Prediction p) {}
        };

        /**
         * Queues the input to the shadow.
         *
         * @return the row to write: unchanged when no shadow runs, else with its shadow part (pending or skipped)
         */
        Prediction dispatch(Deployment d, Prediction p, dev.flywheel.spi.runtime.ModelInput input);

        /** The row of a dispatched prediction will never be written (capture was refused). */
        void abandoned(Prediction p);
    }

    /**
     * What {@code POST /api/deployments/{d}/predict} answers.
     *
     * @param predictionId the logged prediction's id
     * @param label the predicted label
     * @param confidence its probability
     * @param scores every label's probability
     * @param modelVersionId the version that answered
     * @param latencyMs how long the model took
     */
    public record PredictResult(String predictionId, String label, double confidence, Map<String, Double> scores,
            String modelVersionId, double latencyMs) {}

    /**
     * The body of {@code POST /api/deployments/{d}/predictions}: a prediction made elsewhere.
     *
     * @param input the input, as for predict: {@code {"features": [...]}} or {@code {"image_base64": "..."}}
     * @param label the predicted label
     * @param confidence its probability, 0..1
     * @param scores every label's probability, or {@code null} for just the label's
     * @param modelVersionId the version that made it, if it is registered here
     * @param latencyMs how long it took, if known
     */
    public record LogPredictionRequest(JsonNode input, String label, Double confidence, Map<String, Double> scores,
            String modelVersionId, Double latencyMs) {}

    /**
     * A stored input.
     *
     * @param contentType its media type
     * @param content its bytes, to be closed by the reader
     */
    public record StoredInput(String contentType, InputStream content) {}

    public PredictionService(DeploymentService deployments, ModelCache models, ModelRuntimes runtimes,
            RegistryService registry, BlobStore blobs, PredictionWriter writer, PredictionStore store,
            ModelFailures failures, MeterRegistry meters, Clock clock) {
        this.deployments = deployments;
        this.models = models;
        this.runtimes = runtimes;
        this.registry = registry;
        this.blobs = blobs;
        this.writer = writer;
        this.store = store;
        this.failures = failures;
        this.meters = meters;
        this.clock = clock;
    }

    /** Sets the shadow hook (the server wires the shadow runner here). */
    public void shadowHook(ShadowHook hook) {
        this.shadow = hook == null ? ShadowHook.NONE : hook;
    }

    /**
     * Predicts with a deployment's primary model and logs the prediction.
     *
     * @param contentType the request's Content-Type
     * @param body the request's body
     */
    public PredictResult predict(String deploymentId, String contentType, byte[] body) {
        long start = System.nanoTime();
        Deployment d;
        try {
            d = deployments.forServing(deploymentId);
        } catch (ApiException e) {
            // Not tagged with the id asked for: unknown ids must not create a time series each.
            count("unknown", e.code());
            throw e;
        }
        try {
            PredictPayload payload = PredictPayload.parse(contentType, body);
            String versionId = d.primaryModelVersionId();
            ModelOutput out = run(models.get(versionId), payload, d, versionId);
            double latencyMs = Math.round((System.nanoTime() - start) / 1_000.0) / 1_000.0;
            Stored input = store(payload.stored());
            var p = new Prediction(Ids.next("prd"), d.id(), versionId, Prediction.SERVED,
                    out.label(), out.confidence(), out.scores(), latencyMs, payload.storedContentType(),
                    input.blob().sha256(), input.blob().size(), clock.instant()).withInlineInput(input.inline());
            p = shadow.dispatch(d, p, payload.input());
            try {
                capture(p, d);
            } catch (ApiException e) {
                shadow.abandoned(p);
                throw e;
            }
            Timer.builder("flywheel.predict.latency").description("time the model took to answer a predict request")
                    .tag("deployment", d.id()).register(meters)
                    .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            count(d.id(), "ok");
            return new PredictResult(p.id(), p.label(), p.confidence(), p.scores(), versionId, latencyMs);
        } catch (ApiException e) {
            count(d.id(), e.code());
            throw e;
        } catch (RuntimeException e) {
            count(d.id(), "internal_error");
            throw e;
        }
    }

    private ModelOutput run(LoadedModel model, PredictPayload payload, Deployment d, String versionId) {
        List<ModelOutput> outputs;
        try {
            outputs = model.predict(List.of(payload.input()));
        } catch (InvalidInputException e) {
            throw ApiException.fromExtension(e, "invalid_input");
        } catch (RuntimeException | LinkageError e) {
            failures.record(d.id(), versionId, clock.instant());
            throw runtimes.pluginFailed(model, "predicting for deployment " + d.id(), e);
        }
        if (outputs == null || outputs.size() != 1 || outputs.get(0) == null) {
            failures.record(d.id(), versionId, clock.instant());
            throw runtimes.pluginFailed(model, "predicting for deployment " + d.id(),
                    new IllegalStateException("predict returned " + (outputs == null ? "null" : outputs.size()
                            + " outputs") + " for one input"));
        }
        return outputs.get(0);
    }

    /**
     * Inputs up to this size live in their prediction's row, made durable by the same group commit; a blob write per
     * prediction (a file, an fsync, a rename) cost more than the model itself (see bench/README.md).
     */
    static final int INLINE_INPUT_BYTES = 64 * 1024;

    private record Stored(Blob blob, byte[] inline) {}

    /** Keeps an input: in the row when small, else in the blob store. Either way it has its content address. */
    private Stored store(byte[] input) {
        if (input.length <= INLINE_INPUT_BYTES) {
            return new Stored(BlobStore.addressOf(input), input);
        }
        return new Stored(blobs.put(input), null);
    }

    /**
     * A prediction's stored input: from its row when it lives there, else from the blob store.
     *
     * @throws java.util.NoSuchElementException when neither holds it
     */
    public byte[] inputBytes(String predictionId, String sha256) {
        byte[] inline = store.inlineInput(predictionId);
        return inline != null ? inline : blobs.read(sha256);
    }

    /**
     * An observed prediction's input: from its row when it lives there, else from the blob store.
     *
     * @throws java.util.NoSuchElementException when the blob store no longer holds it
     */
    public byte[] inputOf(PredictionStore.Observation o) {
        return o.inputInline() != null ? o.inputInline() : blobs.read(o.inputSha256());
    }

    /** Queues the row; a durable deployment answers only once it is committed. */
    private void capture(Prediction p, Deployment d) {
        boolean durable = d.settings().durable();
        CompletableFuture<Void> written = writer.submit(p, !durable);
        if (!durable) {
            return;
        }
        try {
            written.get(CAPTURE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            // The writer logged the cause; the caller learns only that it may retry.
            if (e.getCause() instanceof PredictionWriter.DatabaseUnavailableException) {
                throw new ApiException(503, "database_unavailable", "the database cannot be reached, so the "
                        + "prediction was not logged and is not answered; retry shortly");
            }
            throw new ApiException(503, "capture_failed", "the prediction could not be logged, so it is not "
                    + "answered; retry shortly (the cause is in the server's log)");
        } catch (TimeoutException e) {
            throw new ApiException(503, "capture_failed", "the prediction was not logged within "
                    + CAPTURE_TIMEOUT_SECONDS + " s; retry");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "capture_failed", "interrupted while logging the prediction");
        }
    }

    /** Logs a prediction made elsewhere. */
    public Prediction log(String deploymentId, LogPredictionRequest req) {
        Deployment d = deployments.forServing(deploymentId);
        if (req.input() == null || req.input().isNull()) {
            throw ApiException.badRequest("invalid_field", "input is required: {\"features\": [...]} or "
                    + "{\"image_base64\": \"...\"}");
        }
        PredictPayload payload = PredictPayload.fromJson(req.input(), null);
        if (req.label() == null || req.label().isBlank() || req.label().length() > 200) {
            throw ApiException.badRequest("invalid_field", "label is required: the predicted label, up to 200 characters");
        }
        if (req.confidence() == null || !(req.confidence() >= 0 && req.confidence() <= 1)) {
            throw ApiException.badRequest("invalid_field", "confidence is required: the label's probability, 0 to 1");
        }
        Map<String, Double> scores = new LinkedHashMap<>();
        if (req.scores() == null || req.scores().isEmpty()) {
            scores.put(req.label(), req.confidence());
        } else {
            for (var e : req.scores().entrySet()) {
                if (e.getValue() == null || !(e.getValue() >= 0 && e.getValue() <= 1)) {
                    throw ApiException.badRequest("invalid_field", "scores." + e.getKey() + " must be a probability, 0 to 1");
                }
                scores.put(e.getKey(), e.getValue());
            }
            if (!scores.containsKey(req.label())) {
                throw ApiException.badRequest("invalid_field", "scores must include the label '" + req.label() + "'");
            }
        }
        if (req.latencyMs() != null && !(req.latencyMs() >= 0)) {
            throw ApiException.badRequest("invalid_field", "latency_ms must not be negative");
        }
        if (req.modelVersionId() != null) {
            ModelVersion v = registry.versionNamedIn("model_version_id", req.modelVersionId());
            List<String> labels = registry.metadataOf(v).labels();
            if (!labels.contains(req.label())) {
                throw ApiException.badRequest("invalid_field", "label '" + req.label() + "' is not one of version "
                        + v.version() + "'s labels " + labels);
            }
        }
        Stored input = store(payload.stored());
        var p = new Prediction(Ids.next("prd"), d.id(), req.modelVersionId(), Prediction.LOGGED,
                req.label(), req.confidence(), scores, req.latencyMs(), payload.storedContentType(),
                input.blob().sha256(), input.blob().size(), clock.instant()).withInlineInput(input.inline());
        capture(p, d);
        count(d.id(), "logged");
        return p;
    }

    public Page<Prediction> list(String deploymentId, PredictionFilter filter, PageRequest page) {
        deployments.get(deploymentId);
        return page.page(store.list(deploymentId, filter, page.after(), page.fetchSize()), Prediction::id);
    }

    /** The newest predictions of a deployment (or, with a version, the first that version made), for statistics. */
    public List<PredictionStore.Observation> observations(String deploymentId, String versionId, int limit) {
        return store.observations(deploymentId, versionId, limit);
    }

    public Prediction get(String id) {
        return store.find(id).orElseThrow(() -> ApiException.notFound("prediction", id));
    }

    /** A prediction's stored input, exactly as it was sent. */
    public StoredInput input(String id) {
        Prediction p = get(id);
        try {
            byte[] inline = store.inlineInput(id);
            return new StoredInput(p.inputContentType(), inline != null ? new java.io.ByteArrayInputStream(inline)
                    : blobs.open(p.inputSha256()));
        } catch (NoSuchElementException e) {
            throw new ApiException(410, "input_gone", "the input of prediction " + id + " is no longer in the blob store");
        }
    }

    private void count(String deployment, String outcome) {
        Counter.builder("flywheel.predictions").description("predict and log requests by outcome")
                .tag("deployment", deployment).tag("outcome", outcome).register(meters).increment();
    }
}
