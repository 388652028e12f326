package dev.flywheel.server.plugins;

import dev.flywheel.server.ServerVersion;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one way the core reaches the extensions of one extension point (Keycloak's host owning creation once): it finds
 * a factory by type, validates settings against its schema (every wrong field, then the factory's own cross-field
 * rules), names and places each instance by one rule ({@code <point>.<type>}, its work directory under the point's),
 * calls an extension on a thread of its own within a timeout, and remembers each caller's last failure, so that a
 * plugin failing the same way on every interval is recorded once rather than every time.
 *
 * <p>A plugin is foreign code: whatever it throws from {@code type()}, {@code configSchema()} or its own calls is
 * contained here. Errors a user can fix are 400s naming the field; a plugin that misbehaves is a 502 for a request, or
 * an {@link ExtensionFailure} for background work.
 *
 * @param <F> the extension point's factory type
 */
public final class ExtensionGateway<F extends ExtensionFactory> implements AutoCloseable {

    /** How long a call may take before it is abandoned and counted as a failure. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private final Factories source;
    private final Class<F> point;
    private final String pointName;
    private final String noun;
    private final Path workRoot;
    private final Clock clock;
    private final Duration timeout;
    private final MeterRegistry meters;
    private final ExecutorService calls;
    private final ConcurrentHashMap<String, String> lastFailures = new ConcurrentHashMap<>();

    /** Where factories come from: the plugin host, or a test's own list. */
    public interface Factories {

        /** The started factories of an extension point. */
        <T extends ExtensionFactory> List<T> factories(Class<T> point);

        /** The plugin that provides an extension, for messages and events. */
        String pluginOf(Object extension);
    }

    /** Called on the gateway's thread with the factory, the validated settings and the instance's context. */
    @FunctionalInterface
    public interface Invocation<F, T> {
        T run(F factory, ExtensionConfig config, ExtensionContext context) throws Exception;
    }

    /** An extension that gave no answer: missing, throwing, hanging, or returning nothing. */
    public static final class ExtensionFailure extends Exception {
        public ExtensionFailure(String message) {
            super(message);
        }
    }

    /**
     * @param source the started factories
     * @param point the extension point's factory interface
     * @param pointName its name in configuration and instance names, such as {@code promotion_policy}
     * @param noun what users call it in messages, such as {@code promoter}
     * @param workRoot the parent of every instance's work directory
     * @param meters where calls are counted by outcome ({@code flywheel_extension_calls_total})
     */
    public ExtensionGateway(Factories source, Class<F> point, String pointName, String noun, Path workRoot, Clock clock,
            Duration timeout, MeterRegistry meters) {
        this.source = source;
        this.point = point;
        this.pointName = pointName;
        this.noun = noun;
        this.workRoot = workRoot;
        this.clock = clock;
        this.timeout = timeout;
        this.meters = meters;
        this.calls = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "flywheel-" + pointName.replace('_', '-') + "-call");
            t.setDaemon(true);
            return t;
        });
    }

    /** Every started factory of the extension point. */
    public List<F> factories() {
        return source.factories(point);
    }

    /** The factory of that type, if a started plugin provides it. */
    public Optional<F> find(String type) {
        return source.factories(point).stream().filter(f -> Objects.equals(type, typeOf(f))).findFirst();
    }

    /**
     * The factory of that type.
     *
     * @param field the request field that named it, for the 400
     * @throws ApiException 400 naming the field and the types installed
     */
    public F require(String type, String field) {
        return find(type).orElseThrow(() -> ApiException.badRequest("invalid_field", field + ": no " + noun
                + " of type '" + type + "' is installed; installed: " + installed()));
    }

    /** The types started plugins provide, sorted; a plugin that cannot say its type is left out. */
    public List<String> installed() {
        return source.factories(point).stream().map(ExtensionGateway::typeOf).filter(Objects::nonNull).sorted().toList();
    }

    /** The plugin that provides this extension. */
    public String pluginOf(Object extension) {
        return source.pluginOf(extension);
    }

    /**
     * Its settings schema.
     *
     * @throws ApiException 502 when the plugin cannot describe its settings
     */
    public ConfigSchema schema(F factory) {
        try {
            return Objects.requireNonNull(factory.configSchema(), "configSchema returned null");
        } catch (RuntimeException | LinkageError e) {
            throw new ApiException(502, "plugin_failed", noun + " '" + typeOf(factory) + "' (plugin "
                    + pluginOf(factory) + ") cannot describe its settings: " + e);
        }
    }

    /**
     * Validates a request's settings for an extension of that type: the schema first (every wrong field, each named
     * {@code field.<setting>}), then the factory's own rules across fields.
     *
     * @param typeField the request field that named the type, such as {@code triggers[0].type}
     * @param field the request field the settings were given in, such as {@code triggers[0].config}, or {@code ""}
     *     when they are fields of the request itself
     * @return the settings with defaults filled in
     * @throws ApiException 400 with {@code details.fields}, or 502 when the plugin itself fails
     */
    public ExtensionConfig validate(String type, Map<String, ?> settings, String typeField, String field) {
        F factory = require(type, typeField);
        ConfigSchema schema = schema(factory);
        try {
            ExtensionConfig config = schema.validate(settings == null ? Map.of() : settings);
            factory.validate(config);
            return config;
        } catch (ConfigValidationException e) {
            String prefix = field.isEmpty() ? "" : field + ".";
            var fields = e.errors().stream().map(err -> Map.<String, Object>of("field", prefix + err.field(),
                    "message", err.message())).toList();
            String listed = String.join("; ", e.errors().stream().map(err -> prefix + err.field() + ": "
                    + err.message()).toList());
            throw new ApiException(400, "invalid_field", "settings of " + noun + " '" + type + "': " + listed,
                    Map.of("fields", fields));
        } catch (RuntimeException | LinkageError e) {
            throw new ApiException(502, "plugin_failed", noun + " '" + type + "' (plugin " + pluginOf(factory)
                    + ") failed to check its settings: " + e);
        }
    }

    /** The context an instance of that type gets: one naming rule for every extension point. */
    public HostExtensionContext context(String type) {
        return new HostExtensionContext(pointName + "." + type, workRoot.resolve(type), clock, ServerVersion.SERVER);
    }

    /**
     * Calls an extension on the gateway's thread within the timeout: finds the factory, validates the stored settings
     * again (a plugin upgrade may have changed its schema), and runs the body.
     *
     * @param doing what the call does, for the failure's message, such as {@code "deciding"}
     * @throws ExtensionFailure with a message for people when there is no answer
     */
    public <T> T call(String type, Map<String, ?> settings, String doing, Invocation<F, T> body)
            throws ExtensionFailure {
        F factory = find(type).orElseThrow(() -> new ExtensionFailure("no " + noun + " of type '" + type
                + "' is installed (its plugin was removed or disabled); installed: " + installed()));
        String who = noun + " '" + type + "' (plugin " + pluginOf(factory) + ")";
        Future<T> call = calls.submit(() -> {
            ExtensionConfig config = factory.configSchema().validate(settings == null ? Map.of() : settings);
            factory.validate(config);
            return body.run(factory, config, context(type));
        });
        T answer;
        try {
            answer = call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            call.cancel(true);
            throw failure(type, "timeout", who + " did not answer within " + timeout.toSeconds() + " s when " + doing);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw failure(type, "failed", cause instanceof ConfigValidationException
                    ? who + ": its settings no longer fit it: " + cause.getMessage()
                    : who + " failed when " + doing + ": " + cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ExtensionFailure("interrupted while waiting for " + who);
        }
        if (answer == null) {
            throw failure(type, "no_answer", who + " returned nothing when " + doing);
        }
        count(type, "ok");
        return answer;
    }

    private ExtensionFailure failure(String type, String outcome, String message) {
        count(type, outcome);
        return new ExtensionFailure(message);
    }

    private void count(String type, String outcome) {
        Counter.builder("flywheel.extension.calls").description("calls of extensions by outcome")
                .tag("point", pointName).tag("type", type).tag("outcome", outcome).register(meters).increment();
    }

    /**
     * Notes a failure for a caller's key (a deployment's trigger, say).
     *
     * @return whether it is news: {@code false} when the last failure for that key was the same, which the caller
     *     then does not record again
     */
    public boolean failed(String key, String message) {
        return !message.equals(lastFailures.put(key, message));
    }

    /** The key's extension answered: its next failure is news again. */
    public void succeeded(String key) {
        lastFailures.remove(key);
    }

    /** A factory's type, or {@code null} when the plugin throws instead of saying it. */
    public static String typeOf(ExtensionFactory f) {
        try {
            return f.type();
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    @Override
    public void close() {
        calls.shutdownNow();
    }
}
