package dev.flywheel.plugins.runtime.djl;

import ai.djl.engine.Engine;
import ai.djl.pytorch.engine.PtEngineProvider;

/**
 * Access to DJL's PyTorch engine from inside a PF4J plugin.
 *
 * <p>DJL finds engines with {@link java.util.ServiceLoader} and finds libtorch's files with
 * {@code getResources}, both through the thread's context class loader. In the server that loader is the
 * application's, which sees neither this plugin's jar nor the native libraries bundled in it, so every call
 * into DJL that may load classes or native files runs with the plugin's own loader as context.
 */
final class PyTorchEngine {

    static final String NAME = "PyTorch";

    /** The loader of this plugin's jar (the PF4J plugin class loader in the server). */
    static final ClassLoader PLUGIN_LOADER = PyTorchEngine.class.getClassLoader();

    private static volatile Engine engine;

    private PyTorchEngine() {}

    private static String startFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnsatisfiedLinkError && String.valueOf(t.getMessage()).contains("another classloader")) {
                // The JVM binds a JNI library to the first class loader that loads it, for the life of the process.
                return "the PyTorch native library is still bound to an earlier instance of the runtime-djl plugin;"
                        + " a plugin with native code cannot be unloaded and loaded again: restart the server";
            }
        }
        return "cannot start DJL's PyTorch engine: " + e.getMessage();
    }

    /** A body to run with the plugin's class loader as context. */
    @FunctionalInterface
    interface Body<T, E extends Exception> {
        T run() throws E;
    }

    /** Runs {@code body} with the plugin's class loader as the thread's context class loader. */
    static <T, E extends Exception> T withPluginLoader(Body<T, E> body) throws E {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(PLUGIN_LOADER);
        try {
            return body.run();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    /**
     * The PyTorch engine, started on first use: libtorch is extracted from this plugin's jar into DJL's cache
     * directory ({@code ~/.djl.ai}, or {@code DJL_CACHE_DIR}/{@code ENGINE_CACHE_DIR}) and loaded.
     *
     * @throws ai.djl.engine.EngineException when the native library cannot be loaded
     */
    static Engine get() {
        Engine started = engine;
        if (started != null) {
            return started;
        }
        synchronized (PyTorchEngine.class) {
            if (engine == null) {
                // Never reach out to the network: the server may have no internet, and the native library a
                // download would fetch is bundled in this plugin anyway.
                if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
                    System.setProperty("ai.djl.offline", "true");
                }
                // Batch sizes vary from pass to pass; the profiling graph executor would re-optimise the model for
                // every new size it sees, making the first passes of each size slow (DJL's own advice).
                if (System.getProperty("ai.djl.pytorch.graph_optimizer") == null) {
                    System.setProperty("ai.djl.pytorch.graph_optimizer", "false");
                }
                try {
                    engine = withPluginLoader(() -> {
                        // Engine's static initialiser ran ServiceLoader with whatever context loader the first caller
                        // had; if that was not ours, the provider is missing and we register it ourselves.
                        if (!Engine.hasEngine(NAME)) {
                            Engine.registerEngine(new PtEngineProvider());
                        }
                        return Engine.getEngine(NAME);
                    });
                } catch (RuntimeException | LinkageError failure) {
                    throw new IllegalStateException(startFailure(failure), failure);
                }
            }
            return engine;
        }
    }
}
