package dev.flywheel.server.registry;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.http.MultipartForm;
import dev.flywheel.server.http.PageRequest;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** {@code /api/models} and {@code /api/model-versions}: the model registry. */
public final class ModelRoutes implements Api.Routes {

    /** The largest model upload: generous, since TorchScript files of real networks run to gigabytes. */
    public static final long MAX_UPLOAD_BYTES = 2L * 1024 * 1024 * 1024;
    /** The largest model.json accepted. */
    static final int MAX_METADATA_BYTES = 1024 * 1024;

    private final RegistryService registry;

    public ModelRoutes(RegistryService registry) {
        this.registry = registry;
    }

    /**
     * The body of {@code POST /api/models}.
     *
     * @param name the model's unique name
     */
    public record CreateModelRequest(String name) {}

    @Override
    public void register(Api api) {
        api.post("/api/models").access(Access.ENGINEER).tag("models")
                .summary("Create a model; upload its versions to /api/models/{m}/versions")
                .body("CreateModelRequest").created("Model")
                .handle(ctx -> ctx.status(201).json(registry.createModel(
                        Bodies.json(ctx, CreateModelRequest.class).name(), AccessControl.principal(ctx))));
        api.get("/api/models").access(Access.VIEWER).tag("models")
                .summary("List models, oldest first").paged().ok("ModelPage")
                .handle(ctx -> ctx.json(registry.listModels(PageRequest.from(ctx))));
        api.get("/api/models/{m}").access(Access.VIEWER).tag("models")
                .summary("Get a model").ok("Model")
                .handle(ctx -> ctx.json(registry.getModel(ctx.pathParam("m"))));
        api.post("/api/models/{m}/versions").access(Access.ENGINEER).tag("models")
                .summary("Upload a model version: the artifact and its model.json")
                .description("multipart/form-data with the parts `file` (a TorchScript .pt, or a .zip of a DJL model "
                        + "directory) and `metadata` (model.json, as a field or a file). The metadata is checked "
                        + "against the Model artifact contract (an image input has at most "
                        + ModelMetadataJson.MAX_IMAGE_SIDE + " pixels a side and " + ModelMetadataJson.MAX_IMAGE_VALUES
                        + " values, width x height x channels) and the model is loaded and run once by its runtime; "
                        + "anything wrong is refused with 400 (invalid_metadata or invalid_model) and nothing is "
                        + "stored. Versions are numbered 1, 2, … per model and never change.")
                .body("multipart/form-data", "ModelVersionUpload", "the artifact and its metadata")
                .created("ModelVersion")
                .maxBodyBytes(MAX_UPLOAD_BYTES)
                .handle(this::upload);
        api.get("/api/models/{m}/versions").access(Access.VIEWER).tag("models")
                .summary("List a model's versions by number").paged().ok("ModelVersionPage")
                .handle(ctx -> ctx.json(registry.listVersions(ctx.pathParam("m"), PageRequest.from(ctx))));
        api.get("/api/model-versions/{v}").access(Access.VIEWER).tag("models")
                .summary("Get a model version").ok("ModelVersion")
                .handle(ctx -> ctx.json(registry.getVersion(ctx.pathParam("v"))));
        api.get("/api/model-versions/{v}/lineage").access(Access.VIEWER).tag("models")
                .summary("Where a model version came from: parent version, training run, dataset versions")
                .ok("Lineage")
                .handle(ctx -> ctx.json(registry.lineage(ctx.pathParam("v"))));
    }

    private void upload(Context ctx) {
        String modelId = ctx.pathParam("m");
        registry.getModel(modelId);
        var form = MultipartForm.read(ctx, "the parts 'file' (the model) and 'metadata' (model.json)");
        MultipartForm.File file = form.file("file");
        if (file == null) {
            throw ApiException.badRequest("invalid_field", "the multipart part 'file' with the model artifact is missing");
        }
        String metadata = form.text("metadata", MAX_METADATA_BYTES);
        try (InputStream in = file.content()) {
            ctx.status(201).json(registry.register(modelId, metadata, file.filename(), in,
                    AccessControl.principal(ctx)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
