package dev.flywheel.server.plugins;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.spi.ExtensionFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.pf4j.DefaultPluginManager;
import org.pf4j.PluginManager;
import org.pf4j.PluginState;
import org.pf4j.PluginWrapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads plugin jars from the plugins directory with PF4J and hands their extensions to the services. A plugin that
 * cannot be read, needs another SPI version, or throws while starting is contained: it is listed with its error,
 * an event records why, and the server goes on without it.
 */
public final class PluginHost implements ExtensionGateway.Factories, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PluginHost.class);

    private final Path pluginsDir;
    private final String spiVersion;
    private final EventService events;
    private final PluginManager manager;
    /** Jars that could not even be loaded, by file name, with why. */
    private final Map<String, String> loadFailures = new LinkedHashMap<>();

    public PluginHost(Path pluginsDir, String spiVersion, EventService events) {
        this.pluginsDir = pluginsDir;
        this.spiVersion = spiVersion;
        this.events = events;
        try {
            Files.createDirectories(pluginsDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the plugins directory " + pluginsDir, e);
        }
        this.manager = new DefaultPluginManager(List.of(pluginsDir));
        this.manager.setSystemVersion(spiVersion);
    }

    /** Loads and starts every plugin jar in the plugins directory, each on its own. */
    public synchronized void start() {
        List<Path> jars;
        try (Stream<Path> files = Files.list(pluginsDir)) {
            jars = files.filter(p -> p.getFileName().toString().endsWith(".jar")
                    && !p.getFileName().toString().startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the plugins directory " + pluginsDir, e);
        }
        for (Path jar : jars) {
            String id = load(jar);
            if (id != null) {
                PluginWrapper w = manager.getPlugin(id);
                if (w.getPluginState() == PluginState.DISABLED) {
                    String why = incompatibility(w);
                    if (why != null) {
                        failed(id, jar, why, null);
                    }
                    continue;
                }
                startOne(id);
            }
        }
        LOG.info("plugins directory {}: {} started, {} failed", pluginsDir, manager.getStartedPlugins().size(),
                loadFailures.size() + manager.getPlugins(PluginState.FAILED).size());
    }

    private String load(Path jar) {
        try {
            return manager.loadPlugin(jar);
        } catch (RuntimeException | LinkageError e) {
            String why = "cannot load " + jar.getFileName() + ": " + rootMessage(e);
            loadFailures.put(jar.getFileName().toString(), why);
            failed(jar.getFileName().toString(), jar, why, e);
            return null;
        }
    }

    private void startOne(String id) {
        PluginState state;
        try {
            state = manager.startPlugin(id);
        } catch (RuntimeException | LinkageError e) {
            manager.getPlugin(id).setPluginState(PluginState.FAILED);
            manager.getPlugin(id).setFailedException(e);
            state = PluginState.FAILED;
        }
        PluginWrapper w = manager.getPlugin(id);
        if (state != PluginState.STARTED) {
            Throwable cause = w.getFailedException();
            failed(id, w.getPluginPath(), "plugin " + id + " failed to start: "
                    + (cause == null ? "state " + state : rootMessage(cause)), cause);
            return;
        }
        events.event("plugin.started", "plugin " + id + " " + w.getDescriptor().getVersion() + " started")
                .subject("plugin", id)
                .data(Map.of("version", w.getDescriptor().getVersion(), "extensions", describeExtensions(w).keySet()))
                .record();
    }

    private void failed(String id, Path jar, String why, Throwable cause) {
        LOG.error("{}", why, cause);
        events.event("plugin.failed", why).error().subject("plugin", id)
                .data(Map.of("file", jar == null ? "" : jar.getFileName().toString())).record();
    }

    /** Every plugin, including those that failed. */
    public synchronized List<PluginInfo> list() {
        var out = new ArrayList<PluginInfo>();
        for (PluginWrapper w : manager.getPlugins()) {
            out.add(info(w));
        }
        loadFailures.forEach((file, why) -> out.add(new PluginInfo(file, null, null, null, null, "failed", file, why,
                Map.of())));
        return out;
    }

    /** One plugin. */
    public synchronized PluginInfo get(String id) {
        return info(wrapper(id));
    }

    /**
     * Installs an uploaded plugin jar and starts it without a restart. Anything wrong with it (not a plugin, already
     * installed, incompatible, failing to start) is refused with a 4xx and leaves the plugins directory as it was.
     */
    public synchronized PluginInfo install(InputStream jar, Principal by) {
        Path incoming;
        try {
            incoming = Files.createTempFile(pluginsDir, ".incoming-", ".jar.part");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store the uploaded plugin", e);
        }
        try {
            // Inside the try, so that an upload that breaks off (a bad chunk, a client gone) leaves no file behind.
            Files.copy(jar, incoming, StandardCopyOption.REPLACE_EXISTING);
            Manifest manifest;
            try (JarFile jf = new JarFile(incoming.toFile())) {
                manifest = jf.getManifest();
            } catch (IOException e) {
                throw ApiException.badRequest("invalid_plugin", "the upload is not a jar file: " + e.getMessage());
            }
            String id = manifest == null ? null : manifest.getMainAttributes().getValue("Plugin-Id");
            String version = manifest == null ? null : manifest.getMainAttributes().getValue("Plugin-Version");
            if (id == null || id.isBlank() || version == null || version.isBlank()) {
                throw ApiException.badRequest("invalid_plugin",
                        "not a Flywheel plugin: the jar's manifest needs Plugin-Id and Plugin-Version");
            }
            if (!id.matches("[A-Za-z0-9][A-Za-z0-9._-]*") || !version.matches("[A-Za-z0-9._+-]+")) {
                throw ApiException.badRequest("invalid_plugin", "Plugin-Id and Plugin-Version may only use letters, "
                        + "digits, '.', '_' and '-'");
            }
            if (manager.getPlugin(id) != null) {
                throw ApiException.conflict("plugin_exists", "plugin " + id + " is already installed (version "
                        + manager.getPlugin(id).getDescriptor().getVersion() + "); delete it first");
            }
            Path target = pluginsDir.resolve(id + "-" + version + ".jar");
            if (Files.exists(target)) {
                throw ApiException.conflict("plugin_exists", "a file " + target.getFileName() + " is already in the plugins directory");
            }
            Files.move(incoming, target);
            String loaded;
            try {
                loaded = manager.loadPlugin(target);
            } catch (RuntimeException | LinkageError e) {
                Files.deleteIfExists(target);
                throw ApiException.badRequest("invalid_plugin", "cannot load plugin " + id + ": " + rootMessage(e));
            }
            PluginWrapper w = manager.getPlugin(loaded);
            String incompatible = incompatibility(w);
            if (incompatible != null) {
                remove(loaded);
                throw ApiException.badRequest("incompatible_plugin", incompatible);
            }
            PluginState state;
            try {
                state = manager.startPlugin(loaded);
            } catch (RuntimeException | LinkageError e) {
                w.setFailedException(e);
                state = PluginState.FAILED;
            }
            if (state != PluginState.STARTED) {
                Throwable cause = w.getFailedException();
                remove(loaded);
                throw ApiException.badRequest("plugin_failed", "plugin " + id + " failed to start: "
                        + (cause == null ? "state " + state : rootMessage(cause)));
            }
            try {
                checkExtensions(w);
            } catch (ApiException e) {
                remove(loaded);
                throw e;
            }
            events.event("plugin.installed", "plugin " + id + " " + version + " installed and started")
                    .actor(by.actor()).subject("plugin", id).data(Map.of("version", version)).record();
            return info(w);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                Files.deleteIfExists(incoming);
            } catch (IOException ignored) {
                // a leftover .part file is skipped at the next start
            }
        }
    }

    /** Checks that an uploaded plugin's extensions describe themselves and do not clash with installed ones. */
    private void checkExtensions(PluginWrapper w) {
        for (var point : ExtensionPoints.ALL.entrySet()) {
            for (ExtensionFactory f : extensionsOf(point.getValue(), w.getPluginId())) {
                String type;
                try {
                    type = f.type();
                    f.configSchema();
                } catch (RuntimeException | LinkageError e) {
                    throw ApiException.badRequest("plugin_failed", "extension " + f.getClass().getName()
                            + " cannot describe itself: " + rootMessage(e));
                }
                for (PluginWrapper other : manager.getStartedPlugins()) {
                    if (other == w) {
                        continue;
                    }
                    for (ExtensionFactory o : extensionsOf(point.getValue(), other.getPluginId())) {
                        if (type.equals(safeType(o))) {
                            throw ApiException.conflict("extension_exists", "plugin " + other.getPluginId()
                                    + " already provides the " + point.getKey() + " '" + type + "'");
                        }
                    }
                }
            }
        }
    }

    public synchronized PluginInfo enable(String id, Principal by) {
        PluginWrapper w = wrapper(id);
        String incompatible = incompatibility(w);
        if (incompatible != null) {
            throw ApiException.conflict("incompatible_plugin", incompatible);
        }
        manager.enablePlugin(id);
        startOne(id);
        events.event("plugin.enabled", "plugin " + id + " enabled").actor(by.actor()).subject("plugin", id).record();
        return info(manager.getPlugin(id));
    }

    public synchronized PluginInfo disable(String id, Principal by) {
        wrapper(id);
        manager.disablePlugin(id);
        events.event("plugin.disabled", "plugin " + id + " disabled").actor(by.actor()).subject("plugin", id).record();
        return info(manager.getPlugin(id));
    }

    public synchronized void delete(String id, Principal by) {
        if (loadFailures.containsKey(id)) {
            try {
                Files.deleteIfExists(pluginsDir.resolve(id));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            loadFailures.remove(id);
        } else {
            wrapper(id);
            remove(id);
        }
        events.event("plugin.deleted", "plugin " + id + " deleted").actor(by.actor()).subject("plugin", id).record();
    }

    private void remove(String id) {
        PluginWrapper w = manager.getPlugin(id);
        Path path = w.getPluginPath();
        try {
            if (!manager.deletePlugin(id)) {
                Files.deleteIfExists(path);
            }
        } catch (RuntimeException | IOException e) {
            LOG.warn("could not delete plugin {} cleanly: {}", id, e.toString());
            try {
                manager.unloadPlugin(id);
            } catch (RuntimeException ignored) {
                // already unloaded
            }
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // reported above
            }
        }
    }

    /** The factories of started plugins for an extension point. */
    @Override
    public synchronized <T extends ExtensionFactory> List<T> factories(Class<T> point) {
        var out = new ArrayList<T>();
        for (PluginWrapper w : manager.getStartedPlugins()) {
            out.addAll(extensionsOf(point, w.getPluginId()));
        }
        return out;
    }

    /** The factory of that type for an extension point, if a started plugin provides it. */
    public <T extends ExtensionFactory> Optional<T> factory(Class<T> point, String type) {
        return factories(point).stream().filter(f -> type.equals(safeType(f))).findFirst();
    }

    /** The plugin that provides an extension instance, for events. */
    @Override
    public synchronized String pluginOf(Object extension) {
        PluginWrapper w = manager.whichPlugin(extension.getClass());
        return w == null ? "server" : w.getPluginId();
    }

    private <T> List<T> extensionsOf(Class<T> point, String pluginId) {
        try {
            return manager.getExtensions(point, pluginId);
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("extensions of plugin {} for {} could not be created: {}", pluginId, point.getSimpleName(), e.toString());
            return List.of();
        }
    }

    private Map<String, List<PluginInfo.ExtensionInfo>> describeExtensions(PluginWrapper w) {
        var out = new LinkedHashMap<String, List<PluginInfo.ExtensionInfo>>();
        if (w.getPluginState() != PluginState.STARTED) {
            return out;
        }
        ExtensionPoints.ALL.forEach((name, point) -> {
            var list = new ArrayList<PluginInfo.ExtensionInfo>();
            for (ExtensionFactory f : extensionsOf(point, w.getPluginId())) {
                try {
                    list.add(new PluginInfo.ExtensionInfo(f.type(), f.displayName(), f.description(),
                            f.getClass().getName(), PluginInfo.SettingInfo.of(f.configSchema())));
                } catch (RuntimeException | LinkageError e) {
                    LOG.warn("extension {} of plugin {} cannot describe itself: {}", f.getClass().getName(),
                            w.getPluginId(), e.toString());
                }
            }
            if (!list.isEmpty()) {
                out.put(name, list);
            }
        });
        return out;
    }

    private PluginInfo info(PluginWrapper w) {
        var d = w.getDescriptor();
        String error = null;
        if (w.getPluginState() == PluginState.FAILED && w.getFailedException() != null) {
            error = rootMessage(w.getFailedException());
        } else if (w.getPluginState() == PluginState.DISABLED) {
            error = incompatibility(w);
        }
        return new PluginInfo(w.getPluginId(), d.getVersion(), d.getPluginDescription(), d.getProvider(),
                d.getRequires(), w.getPluginState().toString().toLowerCase(java.util.Locale.ROOT),
                w.getPluginPath().getFileName().toString(), error, describeExtensions(w));
    }

    private String incompatibility(PluginWrapper w) {
        String requires = w.getDescriptor().getRequires();
        if (requires == null || requires.isBlank() || "*".equals(requires.trim())) {
            return null;
        }
        boolean ok;
        try {
            ok = manager.getVersionManager().checkVersionConstraint(spiVersion, requires);
        } catch (RuntimeException e) {
            return "plugin " + w.getPluginId() + " has an unreadable Plugin-Requires '" + requires + "'";
        }
        return ok ? null : "plugin " + w.getPluginId() + " requires Flywheel SPI " + requires
                + " but this server provides " + spiVersion;
    }

    private PluginWrapper wrapper(String id) {
        PluginWrapper w = manager.getPlugin(id);
        if (w == null) {
            throw ApiException.notFound("plugin", id);
        }
        return w;
    }

    private static String safeType(ExtensionFactory f) {
        try {
            return f.type();
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String msg = t.getMessage();
        return msg == null ? t.getClass().getSimpleName() : (t == e ? msg : t.getClass().getSimpleName() + ": " + msg);
    }

    /** Stops the started plugins one by one (PF4J 3.15's stopPlugins() fails on its own list while iterating). */
    @Override
    public synchronized void close() {
        for (PluginWrapper w : List.copyOf(manager.getStartedPlugins())) {
            try {
                manager.stopPlugin(w.getPluginId());
            } catch (RuntimeException e) {
                LOG.warn("plugin {} did not stop cleanly: {}", w.getPluginId(), e.toString());
            }
        }
        for (PluginWrapper w : List.copyOf(manager.getPlugins())) {
            try {
                manager.unloadPlugin(w.getPluginId());
            } catch (RuntimeException e) {
                LOG.debug("plugin {} did not unload cleanly: {}", w.getPluginId(), e.toString());
            }
        }
    }
}
