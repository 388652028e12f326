package dev.flywheel.server.cli;

import dev.flywheel.server.ServerVersion;
import dev.flywheel.server.plugins.HostExtensionContext;
import dev.flywheel.spi.runtime.ModelRuntime;
import dev.flywheel.spi.runtime.ModelRuntimeFactory;
import dev.flywheel.spi.runtime.Trainer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.pf4j.DefaultPluginManager;
import org.pf4j.PluginManager;
import org.pf4j.PluginWrapper;

/**
 * The built-in trainer inside a job: loads the plugin jars the server uses and hands the job to the trainer of the
 * model runtime that serves the base model's format.
 */
final class JobTrainer {

    private JobTrainer() {}

    static Map<String, Double> train(Path dataset, Path base, Path output, Map<String, Object> params, String format,
            Path pluginsDir, PrintStream log) throws Exception {
        if (!Files.isDirectory(pluginsDir)) {
            throw new IllegalStateException("no plugins directory at " + pluginsDir + "; set FLYWHEEL_PLUGINS_DIR");
        }
        PluginManager plugins = new DefaultPluginManager(List.of(pluginsDir));
        plugins.setSystemVersion(ServerVersion.SPI);
        plugins.loadPlugins();
        plugins.startPlugins();
        var tried = new ArrayList<String>();
        try {
            for (ModelRuntimeFactory factory : plugins.getExtensions(ModelRuntimeFactory.class)) {
                Path work = Files.createTempDirectory("flywheel-runtime-");
                ModelRuntime runtime = factory.create(factory.configSchema().validate(Map.of()),
                        new HostExtensionContext("model_runtime." + factory.type(), work, Clock.systemUTC(),
                                ServerVersion.SERVER));
                tried.add(factory.type() + " " + runtime.formats());
                if (!runtime.formats().contains(format)) {
                    runtime.close();
                    continue;
                }
                Trainer trainer = runtime.trainer().orElse(null);
                if (trainer == null) {
                    runtime.close();
                    continue;
                }
                log.println("[job] built-in trainer of model runtime " + factory.type());
                try {
                    return trainer.train(new Trainer.TrainingJob(dataset, base, output, params), log);
                } finally {
                    runtime.close();
                }
            }
        } finally {
            for (PluginWrapper w : List.copyOf(plugins.getStartedPlugins())) {
                try {
                    plugins.stopPlugin(w.getPluginId());
                } catch (RuntimeException e) {
                    // the job is ending anyway
                }
            }
        }
        throw new IllegalStateException("no model runtime in " + pluginsDir + " has a built-in trainer for format '"
                + format + "' (runtimes found: " + tried + ")");
    }

}
