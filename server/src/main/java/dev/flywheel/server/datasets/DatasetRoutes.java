package dev.flywheel.server.datasets;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.http.MultipartForm;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.http.QueryParams;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/** {@code /api/datasets} and {@code /api/dataset-versions}. */
public final class DatasetRoutes implements Api.Routes {

    private final DatasetService datasets;

    public DatasetRoutes(DatasetService datasets) {
        this.datasets = datasets;
    }

    /**
     * The body of {@code POST /api/datasets}.
     *
     * @param name a unique name
     * @param description what it holds
     */
    public record CreateDatasetRequest(String name, String description) {}

    /**
     * The body of {@code POST /api/datasets/{ds}/versions}.
     *
     * @param name unique within the dataset
     * @param labels the permitted labels, or none for any
     * @param validationFraction the validation share for items without a split (default 0.2)
     */
    public record CreateVersionRequest(String name, List<String> labels, Double validationFraction) {}

    /**
     * The JSON body of {@code POST /api/dataset-versions/{dv}/items}.
     *
     * @param features the feature vector
     * @param label the ground-truth label
     * @param split train or validation; by default decided by the asset's content hash
     */
    public record AddItemRequest(List<Double> features, String label, String split) {}

    @Override
    public void register(Api api) {
        api.post("/api/datasets").access(Access.ENGINEER).tag("datasets").summary("Create a dataset")
                .body("CreateDatasetRequest").created("Dataset")
                .handle(ctx -> {
                    var req = Bodies.json(ctx, CreateDatasetRequest.class);
                    ctx.status(201).json(datasets.createDataset(req.name(), req.description(), AccessControl.principal(ctx)));
                });
        api.get("/api/datasets").access(Access.VIEWER).tag("datasets").summary("List datasets").paged()
                .ok("DatasetPage")
                .handle(ctx -> ctx.json(datasets.datasets(PageRequest.from(ctx))));
        api.get("/api/datasets/{ds}").access(Access.VIEWER).tag("datasets").summary("Get a dataset").ok("Dataset")
                .handle(ctx -> ctx.json(datasets.dataset(ctx.pathParam("ds"))));
        api.post("/api/datasets/{ds}/versions").access(Access.ENGINEER).tag("datasets")
                .summary("Create a version of a dataset, optionally with the labels it allows")
                .body("CreateDatasetVersionRequest").created("DatasetVersion")
                .handle(ctx -> {
                    var req = Bodies.json(ctx, CreateVersionRequest.class);
                    ctx.status(201).json(datasets.createVersion(ctx.pathParam("ds"), req.name(), req.labels(),
                            req.validationFraction(), AccessControl.principal(ctx)));
                });
        api.get("/api/datasets/{ds}/versions").access(Access.VIEWER).tag("datasets").summary("List a dataset's versions")
                .paged().ok("DatasetVersionPage")
                .handle(ctx -> ctx.json(datasets.versions(ctx.pathParam("ds"), PageRequest.from(ctx))));
        api.get("/api/dataset-versions/{dv}").access(Access.VIEWER).tag("datasets")
                .summary("Get a dataset version with its item counts and high-water mark").ok("DatasetVersion")
                .handle(ctx -> ctx.json(datasets.version(ctx.pathParam("dv"))));
        api.get("/api/dataset-versions/{dv}/items").access(Access.VIEWER).tag("datasets")
                .summary("List a version's items in the order they were added")
                .query("split", "string", "train or validation")
                .query("label", "string", "only items with this label")
                .paged().ok("DatasetItemPage")
                .handle(this::listItems);
        api.post("/api/dataset-versions/{dv}/items").access(Access.ENGINEER).tag("datasets")
                .summary("Add an item: JSON {features, label, split?} or multipart file (PNG/JPEG) + label (+ split)")
                .body("application/json", "AddDatasetItemRequest", "a feature vector item; or multipart/form-data with "
                        + "`file` (a PNG or JPEG image), `label` and optionally `split`")
                .created("DatasetItem")
                .handle(this::addItem);
        api.get("/api/dataset-versions/{dv}/export").access(Access.ENGINEER).tag("datasets")
                .summary("The version as the training job contract's zip: manifest.jsonl and assets/")
                .query("up_to", "integer", "only items up to this position (a training run's high-water mark)")
                .response(200, "application/zip", null, "manifest.jsonl (one item a line) and assets/")
                .handle(this::export);
    }

    private void listItems(Context ctx) {
        String split = ctx.queryParam("split");
        if (split != null && !split.equals("train") && !split.equals("validation")) {
            throw ApiException.badRequest("invalid_parameter", "split must be train or validation");
        }
        ctx.json(datasets.items(ctx.pathParam("dv"), split, ctx.queryParam("label"), PageRequest.from(ctx)));
    }

    private void addItem(Context ctx) {
        String contentType = ctx.contentType() == null ? "" : ctx.contentType();
        var principal = AccessControl.principal(ctx);
        DatasetItem item;
        if (contentType.startsWith("multipart/form-data")) {
            var form = MultipartForm.read(ctx, "the parts 'file' (a PNG or JPEG image), 'label' and 'split' (optional)");
            MultipartForm.File file = form.file("file");
            if (file == null) {
                throw ApiException.badRequest("invalid_field", "the multipart field 'file' with the image is missing");
            }
            byte[] bytes;
            try (InputStream in = file.content()) {
                bytes = in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            item = datasets.addImage(ctx.pathParam("dv"), bytes, form.text("label", MultipartForm.MAX_FIELD_BYTES),
                    form.text("split", MultipartForm.MAX_FIELD_BYTES), principal);
        } else if (contentType.startsWith("application/json")) {
            var req = Bodies.json(ctx, AddItemRequest.class);
            item = datasets.addFeatures(ctx.pathParam("dv"), req.features(), req.label(), req.split(), principal);
        } else {
            throw new ApiException(415, "unsupported_media_type",
                    "send JSON {\"features\": [...], \"label\": ...} or multipart/form-data with file and label");
        }
        ctx.status(201).json(item);
    }

    private void export(Context ctx) {
        String v = ctx.pathParam("dv");
        Long upTo = QueryParams.wholeNumber(ctx, "up_to");
        datasets.version(v);
        ctx.contentType("application/zip");
        ctx.header("Content-Disposition", "attachment; filename=\"" + v + ".zip\"");
        try {
            datasets.export(v, upTo, ctx.res().getOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
