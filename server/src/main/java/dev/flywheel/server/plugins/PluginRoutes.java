package dev.flywheel.server.plugins;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.LimitedInputStream;
import dev.flywheel.server.http.MultipartForm;
import dev.flywheel.server.http.Page;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code /api/plugins} and {@code /api/extensions}: the plugin manager. */
public final class PluginRoutes implements Api.Routes {

    private final PluginHost host;
    private final long maxPluginBytes;

    public PluginRoutes(PluginHost host, long maxPluginBytes) {
        this.host = host;
        this.maxPluginBytes = maxPluginBytes;
    }

    @Override
    public void register(Api api) {
        api.get("/api/plugins").access(Access.VIEWER).tag("plugins")
                .summary("List installed plugins with their state and their extensions by extension point")
                .ok("PluginPage")
                .handle(ctx -> ctx.json(new Page<>(host.list(), null)));
        api.post("/api/plugins").access(Access.ADMIN).tag("plugins")
                .summary("Upload a plugin jar; it is started without a restart")
                .description("Send the jar as multipart/form-data field `file`, or as the raw body with "
                        + "Content-Type application/java-archive. A jar that is not a plugin, is already installed, "
                        + "needs another SPI version or fails to start is refused and nothing is kept.")
                .body("multipart/form-data", "PluginUpload", "the plugin jar")
                .created("Plugin")
                .maxBodyBytes(maxPluginBytes)
                .handle(this::upload);
        api.get("/api/plugins/{p}").access(Access.VIEWER).tag("plugins")
                .summary("Get a plugin").ok("Plugin")
                .handle(ctx -> ctx.json(host.get(ctx.pathParam("p"))));
        api.post("/api/plugins/{p}/enable").access(Access.ADMIN).tag("plugins")
                .summary("Enable and start a plugin").ok("Plugin")
                .handle(ctx -> ctx.json(host.enable(ctx.pathParam("p"), AccessControl.principal(ctx))));
        api.post("/api/plugins/{p}/disable").access(Access.ADMIN).tag("plugins")
                .summary("Stop a plugin and keep it stopped across restarts").ok("Plugin")
                .handle(ctx -> ctx.json(host.disable(ctx.pathParam("p"), AccessControl.principal(ctx))));
        api.delete("/api/plugins/{p}").access(Access.ADMIN).tag("plugins")
                .summary("Stop a plugin and delete its jar").noContent()
                .handle(ctx -> {
                    host.delete(ctx.pathParam("p"), AccessControl.principal(ctx));
                    ctx.status(204);
                });
        api.get("/api/extensions").access(Access.VIEWER).tag("plugins")
                .summary("The extensions of started plugins, by extension point, with their configuration schemas")
                .description("What the UI renders configuration forms from.")
                .query("point", "string", "only this extension point: model_runtime, retraining_trigger, "
                        + "promotion_policy or gpu_provisioner")
                .ok("ExtensionsByPoint")
                .handle(this::extensions);
    }

    private void upload(Context ctx) {
        String contentType = ctx.contentType() == null ? "" : ctx.contentType();
        PluginInfo info;
        if (contentType.startsWith("multipart/form-data")) {
            MultipartForm.File file = MultipartForm.read(ctx, "the part 'file' (the plugin jar)").file("file");
            if (file == null) {
                throw ApiException.badRequest("invalid_field", "the multipart field 'file' with the plugin jar is missing");
            }
            if (file.size() > maxPluginBytes) {
                throw ApiException.tooLarge(maxPluginBytes);
            }
            try (InputStream in = file.content()) {
                info = host.install(in, AccessControl.principal(ctx));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else if (contentType.startsWith("application/java-archive") || contentType.startsWith("application/octet-stream")) {
            try (InputStream in = new LimitedInputStream(ctx.bodyInputStream(), maxPluginBytes)) {
                info = host.install(in, AccessControl.principal(ctx));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else {
            throw new ApiException(415, "unsupported_media_type",
                    "send the jar as multipart/form-data field 'file' or as application/java-archive");
        }
        ctx.status(201).json(info);
    }

    private void extensions(Context ctx) {
        String only = ctx.queryParam("point");
        if (only != null && !ExtensionPoints.ALL.containsKey(only)) {
            throw ApiException.badRequest("invalid_parameter", "point must be one of " + ExtensionPoints.ALL.keySet());
        }
        var out = new LinkedHashMap<String, List<Map<String, Object>>>();
        for (PluginInfo p : host.list()) {
            p.extensions().forEach((point, exts) -> {
                if (only == null || only.equals(point)) {
                    for (PluginInfo.ExtensionInfo e : exts) {
                        var m = new LinkedHashMap<String, Object>();
                        m.put("plugin_id", p.id());
                        m.put("type", e.type());
                        m.put("display_name", e.displayName());
                        m.put("description", e.description());
                        m.put("config_schema", e.configSchema());
                        out.computeIfAbsent(point, k -> new ArrayList<>()).add(m);
                    }
                }
            });
        }
        ctx.json(out);
    }
}
