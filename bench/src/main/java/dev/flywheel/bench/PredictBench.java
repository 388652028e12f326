package dev.flywheel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The predict benchmark: on the same model and machine, in one run,
 * <ol type="a">
 *   <li>DJL's predictor called in-process (the ceiling),
 *   <li>a bare Javalin endpoint calling DJL with no logging (what a user would write by hand: the baseline),
 *   <li>Flywheel's {@code POST /api/deployments/{d}/predict} with durable capture,
 *   <li>the same with async capture,
 * </ol>
 * each at fixed concurrencies, printing throughput, p50/p99 latency and errors, and the ratios (c)/(b) and (d)/(b).
 *
 * <p>Each server under test, and (a), is a child process (libtorch loads once per JVM and binds to one class
 * loader); this JVM only generates load and never loads libtorch. Flywheel is the assembled product,
 * {@code distribution/target/flywheel/bin/flywheel server}, on embedded H2 in a fresh data directory.
 */
public final class PredictBench {

    static final String IN_PROCESS = "a-djl-in-process";
    static final String BARE = "b-bare-javalin-djl";
    static final String DURABLE = "c-flywheel-durable";
    static final String ASYNC = "d-flywheel-async";
    private static final List<String> ALL = List.of(IN_PROCESS, BARE, DURABLE, ASYNC);
    private static final String PREDICT_ROUTE = "route=\"/api/deployments/{d}/predict\"";

    /**
     * The benchmark's settings.
     *
     * @param warmup per phase (scenario and concurrency), not measured
     * @param measure per phase, measured
     * @param concurrencies requests in flight, one phase per value
     * @param scenarios which of a, b, c, d to run
     * @param modelDir the model every scenario serves
     * @param dist the assembled product
     * @param out the JSON results file
     * @param logDir the child processes' consoles
     * @param flywheelJavaOpts extra JVM options for the Flywheel server (e.g. to record a flight recording)
     */
    record Options(Duration warmup, Duration measure, List<Integer> concurrencies, Set<String> scenarios,
            Path modelDir, Path dist, Path out, Path logDir, String flywheelJavaOpts) {}

    /**
     * One phase's measurements.
     *
     * @param result what the load generator saw
     * @param serverCpuUsPerRequest CPU time the process under test used in the measured period per request
     *     measured (for (a), the whole process: model and load threads)
     * @param loadCpuUsPerRequest CPU time the load generator used per request ({@code null} for (a))
     * @param server what the server's own metrics said over the phase (Flywheel only)
     */
    record Row(PhaseResult result, Double serverCpuUsPerRequest, Double loadCpuUsPerRequest,
            Map<String, Double> server) {}

    private final Options options;
    private final List<Row> rows = new ArrayList<>();
    private final Map<String, Object> checks = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<String> errorSamples = new ConcurrentLinkedQueue<>();
    private boolean failed;

    PredictBench(Options options) {
        this.options = options;
    }

    /** Runs every selected scenario; returns the process exit status (non-zero when a correctness check failed). */
    int run() throws Exception {
        printEnvironment();
        if (options.scenarios().contains(IN_PROCESS)) {
            runInProcess();
        }
        if (options.scenarios().contains(BARE)) {
            runBare();
        }
        if (options.scenarios().contains(DURABLE) || options.scenarios().contains(ASYNC)) {
            runFlywheel();
        }
        printResults();
        writeJson();
        return failed ? 1 : 0;
    }

    private void printEnvironment() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        System.out.printf(Locale.ROOT, "Flywheel predict benchmark: %d cores, %s %s, Java %s, load average %.2f%n",
                Runtime.getRuntime().availableProcessors(), os.getName(), os.getArch(),
                Runtime.version(), os.getSystemLoadAverage());
        System.out.printf(Locale.ROOT, "model %s; concurrency %s; per phase %d s warm-up + %d s measured%n%n",
                options.modelDir(), options.concurrencies(), options.warmup().toSeconds(),
                options.measure().toSeconds());
    }

    // ---- (a) ---------------------------------------------------------------------------------------------

    private void runInProcess() throws Exception {
        System.out.println("(a) DJL in-process: starting a child JVM…");
        List<String> cmd = ChildProcess.javaCommand(InProcessBench.class);
        cmd.add(options.modelDir().toString());
        cmd.add(String.join(",", options.concurrencies().stream().map(String::valueOf).toList()));
        cmd.add(Long.toString(options.warmup().toMillis()));
        cmd.add(Long.toString(options.measure().toMillis()));
        var json = new ObjectMapper();
        ChildProcess child = ChildProcess.start(IN_PROCESS, cmd, Map.of(), options.logDir());
        long total = (options.warmup().toSeconds() + options.measure().toSeconds() + 10)
                * options.concurrencies().size() + 120;
        int exit = child.awaitExit(Duration.ofSeconds(total));
        String out = child.output();
        if (exit != 0) {
            throw new IllegalStateException("(a) exited with " + exit + ":\n" + ChildProcess.tail(out));
        }
        // The child measures its own CPU per phase and reports it as the result's extra field.
        for (String line : out.lines().filter(l -> l.startsWith(InProcessBench.RESULT)).toList()) {
            var node = json.readTree(line.substring(InProcessBench.RESULT.length()));
            PhaseResult r = json.treeToValue(node.path("result"), PhaseResult.class);
            add(new Row(r, node.path("cpu_us_per_request").asDouble(), null, Map.of()));
        }
    }

    // ---- (b) ---------------------------------------------------------------------------------------------

    private void runBare() throws Exception {
        int port = ChildProcess.freePort();
        System.out.println("(b) bare Javalin + DJL: starting a child JVM on 127.0.0.1:" + port + "…");
        List<String> cmd = ChildProcess.javaCommand(BareServer.class);
        cmd.add(Integer.toString(port));
        cmd.add(options.modelDir().toString());
        try (ChildProcess child = ChildProcess.start(BARE, cmd, Map.of(), options.logDir())) {
            child.awaitOutput(BareServer.READY, Duration.ofSeconds(120));
            for (int c : options.concurrencies()) {
                add(load(BARE, c, port, "/predict", "", child, null, null));
            }
        }
    }

    // ---- (c), (d) ----------------------------------------------------------------------------------------

    private void runFlywheel() throws Exception {
        System.out.print("(c), (d) Flywheel: ");
        try (FlywheelServerProcess server = FlywheelServerProcess.start(options.dist(), "flywheel-server",
                options.logDir(), options.flywheelJavaOpts())) {
            var admin = server.admin();
            int port = server.port();
            ChildProcess child = server.child();
            String version = admin.uploadModel("bench-features-3class", options.modelDir());
            String durable = admin.deploy("bench-durable", version, "durable");
            String async = admin.deploy("bench-async", version, "async");
            String auth = server.authHeader();
            long durableAcked = 0;
            long asyncAcked = 0;
            for (int c : options.concurrencies()) {
                if (options.scenarios().contains(DURABLE)) {
                    Row r = load(DURABLE, c, port, "/api/deployments/" + durable + "/predict", auth, child, admin,
                            durable);
                    durableAcked += r.result().acknowledged();
                    add(r);
                }
                if (options.scenarios().contains(ASYNC)) {
                    Row r = load(ASYNC, c, port, "/api/deployments/" + async + "/predict", auth, child, admin, async);
                    asyncAcked += r.result().acknowledged();
                    add(r);
                }
            }
            if (options.scenarios().contains(DURABLE)) {
                // Durable: every acknowledged prediction was committed before its answer, so the count is exact now.
                check("durable", admin.countPredictions(durable), durableAcked);
            }
            if (options.scenarios().contains(ASYNC)) {
                admin.awaitWriterDrained();
                check("async", admin.countPredictions(async), asyncAcked);
            }
        }
    }

    private void check(String mode, long logged, long acknowledged) {
        boolean ok = logged == acknowledged;
        System.out.printf(Locale.ROOT, "check: %s deployment logged %d predictions for %d acknowledged: %s%n", mode,
                logged, acknowledged, ok ? "OK" : "MISMATCH");
        checks.put(mode + "_logged", logged);
        checks.put(mode + "_acknowledged", acknowledged);
        checks.put(mode + "_ok", ok);
        failed |= !ok;
    }

    // ---- load --------------------------------------------------------------------------------------------

    private Row load(String scenario, int concurrency, int port, String path, String headers, ChildProcess server,
            FlywheelAdmin admin, String deploymentId) throws Exception {
        var window = new ServerWindow(server, admin);
        PhaseResult r = ClosedLoop.run(scenario, concurrency, options.warmup(), options.measure(),
                predictCallers(scenario, concurrency, port, path, headers, errorSamples), window);
        Double serverUs = window.serverCpuUsPer(r.requests());
        Double loadUs = window.loadCpuUsPer(r.requests());
        Map<String, Double> metrics = new LinkedHashMap<>();
        if (admin != null) {
            PrometheusText before = window.before();
            PrometheusText after = window.after();
            String dep = "deployment=\"" + deploymentId + "\"";
            double commits = delta(before, after, "flywheel_prediction_writer_batch_size_count");
            double rows = delta(before, after, "flywheel_prediction_writer_batch_size_sum");
            metrics.put("writer_commits", commits);
            metrics.put("writer_mean_batch", commits == 0 ? Double.NaN : rows / commits);
            metrics.put("predict_service_mean_ms", 1e3 * delta(before, after, "flywheel_predict_latency_seconds_sum",
                    dep) / delta(before, after, "flywheel_predict_latency_seconds_count", dep));
            metrics.put("http_handler_mean_ms", 1e3 * delta(before, after, "http_server_requests_seconds_sum",
                    PREDICT_ROUTE) / delta(before, after, "http_server_requests_seconds_count", PREDICT_ROUTE));
            metrics.put("writer_failures", delta(before, after, "flywheel_prediction_writer_failures_total"));
            // Read after the phase (not timed): async rows may still be queued, so wait for the writer first.
            admin.awaitWriterDrained();
            // The newest rows are those of the measured period (and the few requests in flight at its end).
            metrics.put("model_mean_ms", admin.meanModelLatencyMs(deploymentId, r.requests()));
        }
        return new Row(r, serverUs, loadUs, metrics);
    }

    /**
     * Load threads that each send predict requests on their own keep-alive connection; an answer other than a 200
     * with a {@code label} is a failure, and the first few failures are kept in {@code errorSamples}.
     */
    static ClosedLoop.CallerFactory predictCallers(String scenario, int concurrency, int port, String path,
            String headers, ConcurrentLinkedQueue<String> errorSamples) {
        return thread -> {
            var conn = new HttpConnection(port, headers);
            // A different input sequence per phase: Flywheel deduplicates input blobs by content, and a phase that
            // repeated an earlier one's inputs would skip storing them.
            var inputs = new FeatureInputs(((long) scenario.hashCode() << 32) ^ (concurrency * 1_000L + thread));
            return new ClosedLoop.Caller() {
                @Override
                public boolean call(long seq) throws IOException {
                    byte[] body = FeatureInputs.json(inputs.next(seq)).getBytes(StandardCharsets.US_ASCII);
                    HttpConnection.Response resp = conn.post(path, body);
                    String text = resp.text();
                    boolean ok = resp.status() == 200 && text.contains("\"label\"");
                    if (!ok && errorSamples.size() < 5) {
                        errorSamples.add(scenario + ": " + resp.status() + " " + ChildProcess.tail(text));
                    }
                    return ok;
                }

                @Override
                public void close() {
                    conn.close();
                }
            };
        };
    }

    private static double delta(PrometheusText before, PrometheusText after, String name, String... labels) {
        return PrometheusText.delta(before, after, name, labels);
    }

    private void add(Row row) {
        rows.add(row);
        PhaseResult r = row.result();
        System.out.printf(Locale.ROOT, "  %-20s c=%-3d %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d%n",
                r.scenario(), r.concurrency(), r.throughput(), r.p50Ms(), r.p99Ms(), r.errors());
        if (r.errors() > 0) {
            failed = true;
        }
    }

    // ---- output ------------------------------------------------------------------------------------------

    private void printResults() {
        System.out.println();
        System.out.println("scenario               conc     req/s   p50 ms   p99 ms  mean ms  errors  "
                + "server CPU µs/req  loadgen CPU µs/req");
        List<Row> sorted = rows.stream().sorted(Comparator.comparing((Row r) -> r.result().concurrency())
                .thenComparing(r -> r.result().scenario())).toList();
        for (Row row : sorted) {
            PhaseResult r = row.result();
            System.out.printf(Locale.ROOT, "%-22s %4d %9.1f %8.2f %8.2f %8.2f %7d %18s %19s%n", r.scenario(),
                    r.concurrency(), r.throughput(), r.p50Ms(), r.p99Ms(), r.meanMs(), r.errors(),
                    format(row.serverCpuUsPerRequest()), format(row.loadCpuUsPerRequest()));
        }
        System.out.println();
        for (int c : options.concurrencies()) {
            Map<String, Object> ratios = ratios(c);
            if (ratios.isEmpty()) {
                continue;
            }
            var line = new StringBuilder("ratios at concurrency " + c + ":");
            ratios.forEach((k, v) -> line.append(String.format(Locale.ROOT, "  %s = %.2f", k, (Double) v)));
            System.out.println(line);
            Object cb = ratios.get("throughput (c)/(b)");
            if (cb != null) {
                System.out.printf(Locale.ROOT, "  target (c)/(b) >= 0.90 in throughput: %s%n",
                        (Double) cb >= 0.9 ? "MET" : "NOT MET");
            }
        }
        boolean anyFlywheel = rows.stream().anyMatch(r -> !r.server().isEmpty());
        if (anyFlywheel) {
            System.out.println();
            System.out.println("Where Flywheel's time goes, per request (GET /metrics over the measured period, and the logged rows'"
                    + " latency_ms):");
            for (Row row : sorted) {
                if (row.server().isEmpty()) {
                    continue;
                }
                Map<String, Double> m = row.server();
                double client = row.result().meanMs();
                double handler = m.get("http_handler_mean_ms");
                double service = m.get("predict_service_mean_ms");
                double model = m.get("model_mean_ms");
                System.out.printf(Locale.ROOT, "  %-20s c=%-3d mean %6.2f ms = %5.2f outside the handler (Jetty,"
                                + " sockets, waiting for a CPU) + %5.2f HTTP layer (auth, routing, JSON) + %5.2f"
                                + " logging (blob, queue, commit) + %5.2f model (parse, batching wait, forward)%n",
                        row.result().scenario(), row.result().concurrency(), client, client - handler,
                        handler - service, service - model, model);
                System.out.printf(Locale.ROOT, "  %-20s       writer: %.0f commits, mean batch %.1f rows, failures"
                        + " %.0f%n", "", m.get("writer_commits"), m.get("writer_mean_batch"), m.get("writer_failures"));
            }
        }
        if (!errorSamples.isEmpty()) {
            System.out.println();
            System.out.println("first failed requests:");
            errorSamples.forEach(e -> System.out.println("  " + e));
        }
        System.out.println();
        System.out.println("results: " + options.out() + "; consoles of the child processes: " + options.logDir());
    }

    private Map<String, Object> ratios(int concurrency) {
        Map<String, PhaseResult> by = new HashMap<>();
        rows.stream().map(Row::result).filter(r -> r.concurrency() == concurrency)
                .forEach(r -> by.put(r.scenario(), r));
        Map<String, Object> out = new LinkedHashMap<>();
        PhaseResult a = by.get(IN_PROCESS);
        PhaseResult b = by.get(BARE);
        PhaseResult c = by.get(DURABLE);
        PhaseResult d = by.get(ASYNC);
        if (b != null && c != null) {
            out.put("throughput (c)/(b)", c.throughput() / b.throughput());
        }
        if (b != null && d != null) {
            out.put("throughput (d)/(b)", d.throughput() / b.throughput());
        }
        if (b != null && c != null) {
            out.put("p99 (c)/(b)", c.p99Ms() / b.p99Ms());
        }
        if (b != null && d != null) {
            out.put("p99 (d)/(b)", d.p99Ms() / b.p99Ms());
        }
        if (a != null && b != null) {
            out.put("throughput (b)/(a)", b.throughput() / a.throughput());
        }
        return out;
    }

    private void writeJson() throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "predict");
        doc.put("time", Instant.now().toString());
        doc.put("cores", Runtime.getRuntime().availableProcessors());
        doc.put("java", Runtime.version().toString());
        doc.put("model", options.modelDir().toString());
        doc.put("warmup_seconds", options.warmup().toMillis() / 1e3);
        doc.put("measure_seconds", options.measure().toMillis() / 1e3);
        doc.put("results", rows);
        Map<String, Object> ratios = new LinkedHashMap<>();
        for (int c : options.concurrencies()) {
            ratios.put(Integer.toString(c), ratios(c));
        }
        doc.put("ratios", ratios);
        doc.put("checks", checks);
        doc.put("error_samples", List.copyOf(errorSamples));
        Files.createDirectories(options.out().toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(options.out().toFile(), doc);
    }

    private static String format(Double v) {
        return v == null || v.isNaN() ? "-" : String.format(Locale.ROOT, "%.0f", v);
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    /** The scenario ids a, b, c, d map to. */
    static String scenario(String letter) {
        return switch (letter.trim()) {
            case "a" -> IN_PROCESS;
            case "b" -> BARE;
            case "c" -> DURABLE;
            case "d" -> ASYNC;
            default -> throw new IllegalArgumentException("scenarios are a, b, c and d, not '" + letter + "'");
        };
    }

    static List<String> allScenarios() {
        return ALL;
    }
}
