package dev.flywheel.server.demo;

import ch.qos.logback.classic.Level;
import dev.flywheel.server.FlywheelServer;
import dev.flywheel.server.config.ServerSettings;
import dev.flywheel.spi.config.ConfigSchema;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flywheel demo}: the whole loop in one command. Without {@code --server} it starts the server in this process
 * (the same settings as {@code flywheel server}), tells the story through the REST API, and keeps the server running so
 * that the UI shows the same story; with {@code --server URL --token T} it tells it to a running server.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {
            "Shows the whole loop on two synthetic worlds generated in Java, features and images, side by side: an "
                    + "untrained model is uploaded and trained by the built-in trainer on samples of the original "
                    + "world, then deployed traffic drifts part-way, a simulated reviewer reviews, the feedback loop "
                    + "fills a dataset, a trigger starts a retraining run, the new version runs as the shadow and is "
                    + "promoted; then the accuracy on the drifted world before and after, per world.",
            "",
            "Without --server it starts the server here (embedded H2 under ~/.flywheel unless --data-dir or "
                    + "FLYWHEEL_* settings say otherwise) and keeps it running afterwards, so that the UI shows the "
                    + "same story; Ctrl-C stops it. Exit status 0 only when a version was promoted and is more accurate "
                    + "on the drifted world than the one it replaced, in every world shown.",
            ""})
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--fast", description = "small sizes: about two minutes on two CPU cores")
    boolean fast;

    @Option(names = "--world", paramLabel = "W", description = "features, images or both (default: both, side by side)")
    String world = "both";

    @Option(names = "--server", paramLabel = "URL", description = "tell the story to this running server instead of "
            + "starting one, such as http://127.0.0.1:8080")
    String server;

    @Option(names = "--token", paramLabel = "T", description = "admin or engineer token of --server; without --server: "
            + "the admin token to start the embedded server with (default: FLYWHEEL_ADMIN_TOKEN, else a new one)")
    String token;

    @Option(names = "--port", description = "port of the embedded server (default: FLYWHEEL_PORT, else 8080)")
    Integer port;

    @Option(names = "--data-dir", description = "data directory of the embedded server (default: FLYWHEEL_DATA_DIR, "
            + "else ~/.flywheel)")
    Path dataDir;

    @Option(names = "--exit", description = "stop when the story ends instead of keeping the server running")
    boolean exit;

    @Option(names = "--calm", description = "predictions from the original world before the drift (fast 200, "
            + "default 500)")
    Long calm;

    @Option(names = "--drifted", description = "most predictions from the drifted world (fast 4000, default 20000)")
    Long drifted;

    @Option(names = "--after", description = "drifted predictions that measure the promoted version (fast 200, "
            + "default 500)")
    Long after;

    @Option(names = "--rate", description = "predictions per second (fast 25, default 15)")
    Double rate;

    @Option(names = "--threads", description = "concurrent traffic threads (default 4)")
    Integer threads;

    @Option(names = "--threshold", description = "reviews that start a run (fast 450, default 700); more than --calm, "
            + "so that the drift, not the original world, starts it")
    Integer threshold;

    @Option(names = "--drift-window", description = "recent predictions the drift trigger compares (fast 400, "
            + "default 600); it decides once the window is full")
    Integer driftWindow;

    @Option(names = "--min-samples", description = "paired reviewed predictions before a promotion (fast 60, "
            + "default 200)")
    Integer minSamples;

    @Option(names = "--epochs", description = "epochs of the built-in trainer (fast 30, default 40)")
    Integer epochs;

    @Option(names = "--error-rate", description = "share of the reviewer's labels that are wrong (default 0.03)")
    Double errorRate;

    @Option(names = "--seed", description = "seed of the world and the reviewer (default 42)")
    Long seed;

    @Option(names = "--initial-samples", description = "labelled samples of the original world the first version is "
            + "trained on, a fifth held out (fast 400, default 600); at least the drift trigger's window")
    Integer initialSamples;

    @Option(names = "--timeout", description = "give up after this long, such as 10m (fast 6m, default 20m)")
    String timeout;

    /** How each world's story ended (for tests), or {@code null} before they ended. */
    List<DemoResult> results;

    @Override
    public Integer call() throws InterruptedException {
        PrintStream out = System.out;
        DemoSettings settings;
        List<String> worlds;
        try {
            settings = settings();
            worlds = switch (world) {
                case "features", "images" -> List.of(world);
                case "both" -> List.of("features", "images");
                default -> throw new IllegalArgumentException("--world must be features, images or both, not '" + world
                        + "'");
            };
        } catch (IllegalArgumentException e) {
            System.err.println("flywheel demo: " + e.getMessage());
            return 2;
        }
        boolean live = System.console() != null && !"dumb".equals(System.getenv("TERM"));
        var timeline = new Timeline(out, live, Duration.ofSeconds(5));

        FlywheelServer embedded = null;
        String url;
        String secret;
        if (server != null) {
            if (token == null) {
                System.err.println("flywheel demo: --server needs --token (an admin or engineer token of that server)");
                return 2;
            }
            url = server;
            secret = token;
        } else {
            quietServerLogs();
            Map<String, String> env = new HashMap<>(System.getenv());
            secret = token != null ? token : env.get(ServerSettings.Key.ADMIN_TOKEN.env);
            if (secret == null || secret.isBlank()) {
                // The demo needs a token it knows even when the data directory's first admin token was printed long
                // ago; a configured secret is added as an admin token (see TokenService.bootstrapAdmin).
                byte[] bytes = new byte[24];
                new SecureRandom().nextBytes(bytes);
                secret = "fw_demo_" + HexFormat.of().formatHex(bytes);
            }
            env.put(ServerSettings.Key.ADMIN_TOKEN.env, secret);
            if (dataDir != null) {
                env.put(ServerSettings.Key.DATA_DIR.env, dataDir.toString());
            }
            // The demo's story takes minutes, not hours: evaluate triggers and advance runs often unless told otherwise.
            env.putIfAbsent(ServerSettings.Key.TRIGGER_INTERVAL.env, "5s");
            env.putIfAbsent(ServerSettings.Key.SUPERVISOR_INTERVAL.env, "1s");
            String home = System.getProperty("flywheel.home");
            Path installation = home == null || home.isBlank() ? null : Path.of(home).toAbsolutePath();
            try {
                ServerSettings ss = ServerSettings.load(installation == null ? null
                        : installation.resolve("conf/flywheel.properties"), env, installation);
                if (port != null) {
                    ss = ss.withPort(port);
                }
                out.println("Starting Flywheel (data: " + ss.dataDir() + ", plugins: " + ss.pluginsDir() + ") …");
                embedded = FlywheelServer.start(ss);
            } catch (ServerSettings.InvalidSettingsException e) {
                System.err.println("flywheel demo: " + e.getMessage());
                return 2;
            } catch (RuntimeException e) {
                System.err.println("flywheel demo: the server could not start: " + e.getMessage()
                        + (e.getCause() != null ? " (" + e.getCause().getMessage() + ")" : "")
                        + "; is the port taken? choose another with --port");
                return 1;
            }
            url = "http://127.0.0.1:" + embedded.port();
            out.println("Flywheel is up: http://localhost:" + embedded.port() + "/");
            out.println("Admin token (sign in to the UI with it; it stays valid): " + secret);
        }
        String uiBase = (server != null ? url.replaceAll("/+$", "") : "http://localhost:" + embedded.port()) + "/";
        out.println();

        List<DemoResult> ended = tell(worlds, new FlywheelClient(url, secret), settings, timeline, uiBase);
        timeline.finish();
        this.results = ended;
        boolean success = ended.size() == worlds.size() && ended.stream().allMatch(DemoResult::success);
        if (ended.size() > 1) {
            out.println();
            out.println("==== accuracy on the drifted world, before → after ====");
            for (DemoResult r : ended) {
                out.println(String.format(java.util.Locale.ROOT, "  %-9s %s → %s  (version %d → %s)%s", r.world(),
                        num(r.before()), r.afterSamples() == 0 ? "-" : num(r.after()), r.oldVersionNumber(),
                        r.newVersionNumber() == 0 ? "-" : Integer.toString(r.newVersionNumber()),
                        r.success() ? "" : "  the loop did not close"));
            }
        }
        int code = success ? 0 : 1;
        if (embedded == null || exit) {
            stop(embedded);
            return code;
        }
        out.println();
        out.println("The server keeps running: " + uiBase + " (token above). Ctrl-C stops it.");
        var stopped = new CountDownLatch(1);
        FlywheelServer running = embedded;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            stopped.countDown();
        }, "flywheel-shutdown"));
        stopped.await();
        return code;
    }

    /**
     * Tells each world's story, side by side on one server and one timeline.
     *
     * @return the results of the stories that ended (one that hit an API error is left out, its error printed)
     */
    private static List<DemoResult> tell(List<String> worlds, FlywheelClient client, DemoSettings settings,
            Timeline timeline, String uiBase) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(worlds.size(), r -> {
            Thread t = new Thread(r, "demo-story");
            t.setDaemon(true);
            return t;
        });
        try {
            var futures = new ArrayList<Future<DemoResult>>();
            for (String w : worlds) {
                World world = w.equals("images") ? new ImageWorld(settings.seed()) : new FeatureWorld(settings.seed());
                futures.add(pool.submit(() -> new DemoStory(client, settings, world, timeline, uiBase).run()));
            }
            var ended = new ArrayList<DemoResult>();
            for (int i = 0; i < futures.size(); i++) {
                try {
                    ended.add(futures.get(i).get());
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    timeline.text("flywheel demo (" + worlds.get(i) + "): " + (cause instanceof FlywheelClient.ApiError
                            ? cause.getMessage() : cause.toString()));
                }
            }
            return ended;
        } finally {
            pool.shutdownNow();
        }
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(java.util.Locale.ROOT, "%.2f", v);
    }

    private DemoSettings settings() {
        DemoSettings d = fast ? DemoSettings.fast() : DemoSettings.standard();
        int window = or(driftWindow, d.driftWindow());
        var s = new DemoSettings(or(calm, d.calm()), or(drifted, d.maxDrifted()), or(after, d.after()),
                or(rate, d.rate()), or(threads, d.threads()), or(threshold, d.threshold()), window,
                driftWindow == null ? d.driftMinWindow() : window, or(minSamples, d.minSamples()),
                d.promotionThreshold(), d.significance(), or(epochs, d.epochs()), or(errorRate, d.errorRate()),
                or(seed, d.seed()), timeout == null ? d.timeout() : ConfigSchema.parseDuration(timeout),
                or(initialSamples, d.initialSamples()), d.initialEpochs());
        if (s.initialSamples() < s.driftMinWindow()) {
            throw new IllegalArgumentException("--initial-samples (" + s.initialSamples() + ") must be at least the "
                    + "drift trigger's window (" + s.driftMinWindow() + "): they are its reference");
        }
        if (s.threshold() <= s.calm()) {
            throw new IllegalArgumentException("--threshold (" + s.threshold() + ") must be above --calm (" + s.calm()
                    + "): otherwise reviews of the original world alone would start the run, before the drift");
        }
        if (s.driftWindow() < 50) {
            throw new IllegalArgumentException("--drift-window must be at least 50");
        }
        if (s.rate() <= 0 || s.threads() < 1 || s.after() < 1 || s.maxDrifted() < 1 || s.minSamples() < 1
                || s.epochs() < 1) {
            throw new IllegalArgumentException("--rate, --threads, --after, --drifted, --min-samples and --epochs "
                    + "must be positive");
        }
        if (s.errorRate() < 0 || s.errorRate() >= 0.5) {
            throw new IllegalArgumentException("--error-rate must be from 0 to below 0.5");
        }
        return s;
    }

    private static <T> T or(T value, T dflt) {
        return value != null ? value : dflt;
    }

    private static void stop(FlywheelServer embedded) {
        if (embedded != null) {
            embedded.close();
        }
    }

    /**
     * The embedded server's INFO lines would break up the timeline (and the bars, which are redrawn by counting lines);
     * its warnings and errors still show. DJL warns at every start on a machine without CUDA, which is no news here.
     */
    private static void quietServerLogs() {
        if (LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
            root.setLevel(Level.WARN);
        }
        if (LoggerFactory.getLogger("ai.djl") instanceof ch.qos.logback.classic.Logger djl) {
            djl.setLevel(Level.ERROR);
        }
        // Plugins may log through java.util.logging, which writes INFO to stderr by default.
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger("");
        jul.setLevel(java.util.logging.Level.WARNING);
        for (var handler : jul.getHandlers()) {
            handler.setLevel(java.util.logging.Level.WARNING);
        }
    }
}
