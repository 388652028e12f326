package dev.flywheel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The shadow benchmark: does a slow shadow model slow down the primary? One Flywheel server, one durable deployment
 * of {@code features-3class}, the same closed-loop predict load (same concurrency, same duration) in rounds of two
 * phases:
 * <ol>
 *   <li>without a shadow (the baseline),
 *   <li>with a deliberately slow shadow model set ({@link SlowModelBuilder}: a wide "djl"-format MLP whose
 *       forward pass takes tens of milliseconds).
 * </ol>
 * Alternating rounds (3 by default, 1 with {@code --quick}) rather than one long phase each, because on a shared
 * machine the load of other processes drifts by more than the effect measured; the spread of the rounds without a
 * shadow is printed as the noise the ratio has to be read against. It prints p50/p99/throughput of every phase and
 * of each condition pooled, the ratios p99(with)/p99(without) and throughput(with)/(without), and what the shadow
 * itself did: {@code flywheel_shadow_*} from {@code /metrics} over the measured periods and
 * {@code GET /api/deployments/{d}/comparison}.
 *
 * <p>The slow model is built in a child JVM (libtorch loads once per JVM; this JVM only generates load and never
 * loads it), before the server starts, so that building it does not compete with anything measured.
 */
final class ShadowBench {

    static final String WITHOUT = "without-shadow";
    static final String WITH = "with-shadow";
    static final String WITHOUT_PACED = "without-paced";
    static final String WITH_PACED = "with-paced";

    /**
     * The benchmark's settings.
     *
     * @param shadowPriority the server's {@code FLYWHEEL_SHADOW_PRIORITY}: {@code idle} or {@code normal}
     * @param warmup per phase, not measured
     * @param measure per phase, measured
     * @param jitWarmup load before the first phase, not measured (JIT, pools)
     * @param concurrency predict requests in flight in every phase
     * @param hidden the slow model's hidden layer widths
     * @param rounds how many times the pair (without, with) runs
     * @param pacedLoad after the closed-loop rounds, as many paced rounds at this share of the saturated throughput
     *     measured without the shadow; 0 for none
     * @param fixture the primary model ({@code fixtures/models/features-3class})
     * @param dist the assembled product
     * @param work where the slow model is written
     * @param out the JSON results file
     * @param logDir the child processes' consoles
     * @param flywheelJavaOpts extra JVM options for the server
     */
    record Options(String shadowPriority, Duration warmup, Duration measure, Duration jitWarmup, int concurrency, List<Integer> hidden, int rounds,
            double pacedLoad,
            Path fixture, Path dist, Path work, Path out, Path logDir, String flywheelJavaOpts) {}

    /**
     * One phase.
     *
     * @param result what the load generator saw
     * @param serverCpuUsPerRequest the server's CPU time per measured request
     * @param serverCores how many cores the server kept busy on average
     * @param shadow what {@code /metrics} said about the shadow over the measured period (phase 2 only)
     */
    record Row(PhaseResult result, double serverCpuUsPerRequest, double serverCores, Map<String, Double> shadow) {}

    private final Options options;
    private final List<Row> rows = new ArrayList<>();
    private final Map<String, Object> checks = new LinkedHashMap<>();
    private final Map<String, Object> slowModel = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<String> errorSamples = new ConcurrentLinkedQueue<>();
    private final Map<String, List<ClosedLoop.Measured>> measured = new LinkedHashMap<>();
    private final Map<String, PhaseResult> pooled = new LinkedHashMap<>();
    private JsonNode comparison;
    private double pacedRate;
    private double loadAverageAtStart;
    private boolean failed;

    ShadowBench(Options options) {
        this.options = options;
    }

    /** Runs the phases; returns the process exit status (1 when a request failed or a check did not hold). */
    int run() throws Exception {
        var os = ManagementFactory.getOperatingSystemMXBean();
        int cores = Runtime.getRuntime().availableProcessors();
        loadAverageAtStart = os.getSystemLoadAverage();
        System.out.printf(Locale.ROOT, "Flywheel shadow benchmark: %d cores, %s %s, Java %s, load average %.2f%n",
                cores, os.getName(), os.getArch(), Runtime.version(), loadAverageAtStart);
        System.out.printf(Locale.ROOT, "primary %s (durable capture); concurrency %d; per phase %d s warm-up + %d s"
                        + " measured; shadow priority %s%n%n", options.fixture(), options.concurrency(),
                options.warmup().toSeconds(), options.measure().toSeconds(), options.shadowPriority());
        buildSlowModel();
        Path slow = options.work();
        // The slow model is hundreds of megabytes: the upload route's own limit (2 GiB) applies, not the 20 MiB
        // default of other routes, so nothing needs raising.
        Map<String, String> settings = Map.of("FLYWHEEL_SHADOW_PRIORITY", options.shadowPriority());
        try (FlywheelServerProcess server = FlywheelServerProcess.start(options.dist(), "flywheel-server-shadow",
                options.logDir(), options.flywheelJavaOpts(), settings)) {
            FlywheelAdmin admin = server.admin();
            String modelId = admin.createModel("bench-shadow-features-3class");
            String primary = admin.uploadVersion(modelId, "model.pt",
                    Files.readAllBytes(options.fixture().resolve("model.pt")),
                    Files.readAllBytes(options.fixture().resolve("model.json")));
            long t0 = System.nanoTime();
            String shadow = admin.uploadVersion(modelId, "slow-mlp.zip", Files.readAllBytes(slow.resolve("model.zip")),
                    Files.readAllBytes(slow.resolve("model.json")));
            System.out.printf(Locale.ROOT, "uploaded the slow model as version %s in %.1f s (the server checked and"
                    + " loaded it)%n", shadow, (System.nanoTime() - t0) / 1e9);
            String d = admin.deploy("bench-shadow", primary, "durable");
            String path = "/api/deployments/" + d + "/predict";
            // JIT, connection pools, the first group commits: none of it belongs to the first phase alone, which would
            // otherwise be slower for reasons that have nothing to do with the shadow.
            PhaseResult warm = ClosedLoop.run("jit-warm-up", options.concurrency(), options.jitWarmup(),
                    Duration.ofSeconds(1), PredictBench.predictCallers("jit-warm-up", options.concurrency(),
                            server.port(), path, server.authHeader(), errorSamples));
            System.out.printf(Locale.ROOT, "  %-15s %d s, not measured (%d predictions, %d errors)%n", "warm-up",
                    options.jitWarmup().toSeconds() + 1, warm.acknowledged(), warm.errors());
            failed |= warm.errors() > 0;
            long acked = warm.acknowledged();

            // Rounds of (without, with) rather than one long phase each: on a shared machine the load of other
            // processes drifts by more than the effect measured, and alternating spreads the drift over both.
            Rounds closed = rounds(admin, server, path, d, shadow, WITHOUT, WITH, 0);
            acked += closed.acknowledged;
            long lastWithAcked = closed.lastWithAcknowledged;
            boolean drained = closed.drained;
            if (options.pacedLoad() > 0) {
                // The same question below saturation: at a fixed rate the primary has idle CPU between requests,
                // which is where a shadow at idle priority does its work.
                pacedRate = options.pacedLoad() * ClosedLoop.pool(WITHOUT, measured.get(WITHOUT)).throughput();
                System.out.printf(Locale.ROOT, "paced rounds at %.0f requests/s (%.0f%% of the throughput without the"
                        + " shadow above), latency counted from when each request was due:%n", pacedRate,
                        100 * options.pacedLoad());
                Rounds paced = rounds(admin, server, path, d, shadow, WITHOUT_PACED, WITH_PACED, pacedRate);
                acked += paced.acknowledged;
                lastWithAcked = paced.lastWithAcknowledged;
                drained &= paced.drained;
            }
            // Everything the shadow was given must be accounted for: run, failed or skipped; none left pending.
            drained &= admin.awaitZero(Duration.ofSeconds(120), "flywheel_shadow_queue",
                    "flywheel_shadow_results_queue", "flywheel_prediction_writer_queue");
            // Setting the shadow restarts its comparison, so it covers the last round's phase with the shadow.
            comparison = awaitSettledComparison(admin, d);
            checkComparison(comparison, lastWithAcked, drained);
            for (String condition : measured.keySet()) {
                pooled.put(condition, ClosedLoop.pool(condition, measured.get(condition)));
            }
            // Nobody reviews here and the review sample rate is 1, so every logged row waits for review: one COUNT
            // on the server instead of paging through a hundred thousand rows.
            long logged = admin.get("/api/deployments/" + d + "/review-stats").path("to_review").asLong();
            boolean ok = logged == acked;
            System.out.printf(Locale.ROOT, "check: logged %d predictions for %d acknowledged: %s%n", logged, acked,
                    ok ? "OK" : "MISMATCH");
            checks.put("logged", logged);
            checks.put("acknowledged", acked);
            checks.put("logged_ok", ok);
            failed |= !ok;
        }
        printResults(cores);
        writeJson();
        return failed ? 1 : 0;
    }

    private void buildSlowModel() throws Exception {
        System.out.println("building the slow shadow model (hidden " + compact(options.hidden()) + ") in a child JVM…");
        if (Files.exists(options.work())) {
            ChildProcess.deleteTree(options.work());
        }
        List<String> cmd = ChildProcess.javaCommand(SlowModelBuilder.class);
        cmd.add(options.fixture().toString());
        cmd.add(options.work().toString());
        cmd.add(String.join(",", options.hidden().stream().map(String::valueOf).toList()));
        ChildProcess child = ChildProcess.start("shadow-model-builder", cmd, Map.of(), options.logDir());
        int exit = child.awaitExit(Duration.ofMinutes(5));
        String out = child.output();
        String line = out.lines().filter(l -> l.startsWith(SlowModelBuilder.RESULT)).findFirst().orElse(null);
        if (exit != 0 || line == null) {
            throw new IllegalStateException("building the slow model failed (" + exit + "):\n" + ChildProcess.tail(out));
        }
        JsonNode r = new ObjectMapper().readTree(line.substring(SlowModelBuilder.RESULT.length()));
        r.fields().forEachRemaining(e -> slowModel.put(e.getKey(), e.getValue().numberValue()));
        slowModel.put("hidden", options.hidden());
        System.out.printf(Locale.ROOT, "slow model: %,d parameters (%.0f MB), one-row forward pass %.1f ms (median of"
                        + " 25, alone in its JVM before the server started)%n%n", r.path("parameters").asLong(),
                r.path("params_bytes").asDouble() / 1e6, r.path("forward_ms_p50").asDouble());
    }

    /** What a series of rounds did. */
    private record Rounds(long acknowledged, long lastWithAcknowledged, boolean drained) {}

    /**
     * The rounds of one load: each a phase without and a phase with the shadow, in alternating order (ABBA), so that
     * neither condition always runs first (after a model swap, a drained queue, a GC that the other left behind). The
     * last round ends with the shadow set, so that the comparison covers that phase.
     *
     * @param rate requests per second for paced phases; 0 for a closed loop
     */
    private Rounds rounds(FlywheelAdmin admin, FlywheelServerProcess server, String path, String d, String shadow,
            String without, String with, double rate) throws Exception {
        long acked = 0;
        long lastWithAcked = 0;
        boolean drained = true;
        boolean shadowSet = admin.get("/api/deployments/" + d).path("shadow_model_version_id").isTextual();
        for (int round = 1; round <= options.rounds(); round++) {
            boolean withFirst = (options.rounds() - round) % 2 == 1;
            for (boolean withShadow : withFirst ? new boolean[] {true, false} : new boolean[] {false, true}) {
                if (withShadow) {
                    admin.setShadow(d, shadow);
                    shadowSet = true;
                    lastWithAcked = phase(with, round, server, path, d, true, rate).result().acknowledged();
                    acked += lastWithAcked;
                } else {
                    if (shadowSet) {
                        admin.removeShadow(d);
                        shadowSet = false;
                        // Inputs already queued still run after the shadow is removed: let them finish first, so
                        // that the shadow's leftover work does not land in a phase without it.
                        drained &= admin.awaitZero(Duration.ofSeconds(60), "flywheel_shadow_queue");
                    }
                    acked += phase(without, round, server, path, d, false, rate).result().acknowledged();
                }
            }
        }
        return new Rounds(acked, lastWithAcked, drained);
    }

    /** @param rate requests per second for a paced phase; 0 for a closed loop */
    private Row phase(String condition, int round, FlywheelServerProcess server, String path, String deploymentId,
            boolean shadow, double rate) throws Exception {
        String name = condition + "-" + round;
        var window = new ServerWindow(server.child(), server.admin());
        var callers = PredictBench.predictCallers(name, options.concurrency(), server.port(), path,
                server.authHeader(), errorSamples);
        ClosedLoop.Measured m = rate > 0
                ? ClosedLoop.measuredAtRate(name, options.concurrency(), rate, options.warmup(), options.measure(),
                        callers, window)
                : ClosedLoop.measured(name, options.concurrency(), options.warmup(), options.measure(), callers,
                        window);
        PhaseResult r = m.result();
        measured.computeIfAbsent(condition, k -> new ArrayList<>()).add(m);
        Map<String, Double> s = shadow ? shadowMetrics(window, deploymentId, r.seconds()) : Map.of();
        var row = new Row(r, window.serverCpuUsPer(r.requests()), window.serverCores(r.seconds()), s);
        rows.add(row);
        System.out.printf(Locale.ROOT, "  %-17s c=%-3d %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d%s%n",
                r.scenario(), r.concurrency(), r.throughput(), r.p50Ms(), r.p99Ms(), r.errors(), shadow
                        ? String.format(Locale.ROOT, "  (shadow ran %.0f, skipped %.0f)", s.get("runs"), s.get("skips"))
                        : "");
        failed |= r.errors() > 0;
        return row;
    }

    private static Map<String, Double> shadowMetrics(ServerWindow w, String deploymentId, double seconds) {
        String dep = "deployment=\"" + deploymentId + "\"";
        Map<String, Double> m = new LinkedHashMap<>();
        double runs = w.delta("flywheel_shadow_latency_seconds_count", dep);
        double skips = w.delta("flywheel_shadow_skips_total", dep);
        m.put("runs", runs);
        m.put("runs_per_second", runs / seconds);
        m.put("skips", skips);
        m.put("errors", w.delta("flywheel_shadow_errors_total", dep));
        m.put("skipped_share", runs + skips == 0 ? Double.NaN : skips / (runs + skips));
        m.put("mean_ms", runs == 0 ? Double.NaN : 1e3 * w.delta("flywheel_shadow_latency_seconds_sum", dep) / runs);
        m.put("max_ms", 1e3 * w.after().sum("flywheel_shadow_latency_seconds_max", dep));
        m.put("agree", w.delta("flywheel_shadow_predictions_total", dep, "outcome=\"agree\""));
        m.put("disagree", w.delta("flywheel_shadow_predictions_total", dep, "outcome=\"disagree\""));
        m.put("queue_at_end", w.after().sum("flywheel_shadow_queue"));
        m.put("joined", w.delta("flywheel_shadow_results_joined_total"));
        m.put("results_dropped", w.delta("flywheel_shadow_results_dropped_total"));
        return m;
    }

    /** The comparison once no shadow result is pending any more (results are written by UPDATE after the row). */
    private static JsonNode awaitSettledComparison(FlywheelAdmin admin, String d) throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        JsonNode c = admin.get("/api/deployments/" + d + "/comparison");
        while (c.path("overall").path("pending").asLong() > 0 && Instant.now().isBefore(deadline)) {
            Thread.sleep(250);
            c = admin.get("/api/deployments/" + d + "/comparison");
        }
        return c;
    }

    private void checkComparison(JsonNode c, long acknowledged, boolean drained) {
        JsonNode o = c.path("overall");
        long requests = o.path("requests").asLong();
        long compared = o.path("compared").asLong();
        long skips = o.path("skips").asLong();
        long errors = o.path("errors").asLong();
        long pending = o.path("pending").asLong();
        // Every prediction served while the shadow was set (shadow_sample_rate 1) was given to it.
        boolean all = requests == acknowledged;
        boolean accounted = compared + skips + errors == requests && pending == 0;
        System.out.printf(Locale.ROOT, "check: the comparison counts %d shadow requests for %d predictions served with"
                + " the shadow set: %s; %d compared + %d skipped + %d failed, %d pending: %s; shadow errors: %s%n",
                requests, acknowledged, all ? "OK" : "MISMATCH", compared, skips, errors, pending,
                accounted ? "OK" : "NOT ACCOUNTED FOR", errors == 0 ? "none" : errors + " (FAILED)");
        checks.put("queues_drained", drained);
        checks.put("comparison_requests", requests);
        checks.put("comparison_requests_ok", all);
        checks.put("comparison_accounted_ok", accounted);
        checks.put("shadow_errors", errors);
        failed |= !all || !accounted || errors > 0 || !drained;
    }

    // ---- output ------------------------------------------------------------------------------------------

    /**
     * The ratios with/without: of the pooled phases (every request of every round), and per round; and how far the
     * rounds without a shadow differ among themselves (the largest p99 over the smallest): nothing changed between
     * them, so that spread is the machine's noise.
     */
    static Map<String, Double> ratios(PhaseResult without, PhaseResult with, List<PhaseResult> withoutRounds,
            List<PhaseResult> withRounds) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (without != null && with != null) {
            out.put("p99 with/without", with.p99Ms() / without.p99Ms());
            out.put("p50 with/without", with.p50Ms() / without.p50Ms());
            out.put("throughput with/without", with.throughput() / without.throughput());
        }
        int n = Math.min(withoutRounds.size(), withRounds.size());
        for (int i = 0; i < n; i++) {
            out.put("round " + (i + 1) + " p99 with/without", withRounds.get(i).p99Ms() / withoutRounds.get(i).p99Ms());
        }
        if (withoutRounds.size() > 1) {
            double min = withoutRounds.stream().mapToDouble(PhaseResult::p99Ms).min().orElseThrow();
            double max = withoutRounds.stream().mapToDouble(PhaseResult::p99Ms).max().orElseThrow();
            out.put("noise: p99 spread of the rounds without (max/min)", max / min);
        }
        return out;
    }

    private List<PhaseResult> rounds(String condition) {
        return measured.getOrDefault(condition, List.of()).stream().map(ClosedLoop.Measured::result).toList();
    }

    private Map<String, Double> ratios() {
        Map<String, Double> out = ratios(pooled.get(WITHOUT), pooled.get(WITH), rounds(WITHOUT), rounds(WITH));
        if (pooled.containsKey(WITH_PACED)) {
            ratios(pooled.get(WITHOUT_PACED), pooled.get(WITH_PACED), rounds(WITHOUT_PACED), rounds(WITH_PACED))
                    .forEach((k, v) -> out.put("paced: " + k, v));
        }
        return out;
    }

    /** The shadow's numbers over every phase with it: counts added, the mean weighted by runs, the largest max. */
    private Map<String, Double> shadowTotals() {
        Map<String, Double> t = new LinkedHashMap<>();
        double seconds = 0;
        double weighted = 0;
        for (Row r : rows) {
            if (r.shadow().isEmpty()) {
                continue;
            }
            seconds += r.result().seconds();
            for (String k : List.of("runs", "skips", "errors", "agree", "disagree", "joined", "results_dropped")) {
                t.merge(k, r.shadow().get(k), Double::sum);
            }
            weighted += r.shadow().get("runs") * r.shadow().get("mean_ms");
            t.merge("max_ms", r.shadow().get("max_ms"), Math::max);
        }
        double runs = t.getOrDefault("runs", 0.0);
        t.put("runs_per_second", seconds == 0 ? Double.NaN : runs / seconds);
        t.put("mean_ms", runs == 0 ? Double.NaN : weighted / runs);
        double skips = t.getOrDefault("skips", 0.0);
        t.put("skipped_share", runs + skips == 0 ? Double.NaN : skips / (runs + skips));
        return t;
    }

    /** The mean cores the server kept busy in the closed-loop phases with or without the shadow. */
    private double meanCores(boolean shadow) {
        String prefix = (shadow ? WITH : WITHOUT) + "-";
        return rows.stream().filter(r -> r.result().scenario().startsWith(prefix)).mapToDouble(Row::serverCores)
                .average().orElse(Double.NaN);
    }

    private void printResults(int cores) {
        System.out.println();
        System.out.println("phase              conc     req/s   p50 ms   p99 ms  mean ms  errors  server CPU µs/req  "
                + "server cores busy");
        for (Row row : rows) {
            PhaseResult r = row.result();
            System.out.printf(Locale.ROOT, "%-17s %5d %9.1f %8.2f %8.2f %8.2f %7d %18.0f %18.2f%n", r.scenario(),
                    r.concurrency(), r.throughput(), r.p50Ms(), r.p99Ms(), r.meanMs(), r.errors(),
                    row.serverCpuUsPerRequest(), row.serverCores());
        }
        for (PhaseResult r : pooled.values()) {
            System.out.printf(Locale.ROOT, "%-17s %5d %9.1f %8.2f %8.2f %8.2f %7d%n", r.scenario() + " (all)",
                    r.concurrency(), r.throughput(), r.p50Ms(), r.p99Ms(), r.meanMs(), r.errors());
        }
        System.out.println();
        Map<String, Double> ratios = ratios();
        System.out.println("ratios:");
        ratios.forEach((k, v) -> System.out.printf(Locale.ROOT, "  %s = %.2f%n", k, v));

        Map<String, Double> s = shadowTotals();
        if (!s.isEmpty()) {
            System.out.println();
            System.out.printf(Locale.ROOT, "the shadow over the measured periods (GET /metrics): ran %.0f inputs (%.1f/s),"
                            + " mean %.1f ms, max %.1f ms; skipped %.0f (%.1f%% of the inputs offered, queue full);"
                            + " errors %.0f; agreed with the primary %.0f, disagreed %.0f (the slow model is untrained:"
                            + " agreement is not the point); %.0f results joined their row, %.0f dropped%n",
                    s.get("runs"), s.get("runs_per_second"), s.get("mean_ms"), s.get("max_ms"), s.get("skips"),
                    100 * s.get("skipped_share"), s.get("errors"), s.get("agree"), s.get("disagree"),
                    s.get("joined"), s.get("results_dropped"));
        }
        if (comparison != null) {
            JsonNode o = comparison.path("overall");
            System.out.printf(Locale.ROOT, "the shadow over the last round's phase with it (GET …/comparison): requests %d,"
                            + " compared %d, skips %d, errors %d, pending %d, agreement %s; latency p50/p95: primary"
                            + " %s / %s ms, shadow %s / %s ms%n",
                    o.path("requests").asLong(), o.path("compared").asLong(), o.path("skips").asLong(),
                    o.path("errors").asLong(), o.path("pending").asLong(), text(o.path("agreement_rate")),
                    text(o.path("primary_latency_ms").path("p50")), text(o.path("primary_latency_ms").path("p95")),
                    text(o.path("shadow_latency_ms").path("p50")), text(o.path("shadow_latency_ms").path("p95")));
        }
        if (ratios.containsKey("p99 with/without") && !s.isEmpty()) {
            System.out.println();
            explain(cores, ratios, s);
        }
        if (!errorSamples.isEmpty()) {
            System.out.println();
            System.out.println("first failed requests:");
            errorSamples.forEach(e -> System.out.println("  " + e));
        }
        System.out.println();
        System.out.println("results: " + options.out() + "; consoles of the child processes: " + options.logDir());
    }

    /** Says where a ratio far from 1 comes from, in the numbers of this run. */
    private void explain(int cores, Map<String, Double> ratios, Map<String, Double> s) {
        double p99 = ratios.get("p99 with/without");
        Double noise = ratios.get("noise: p99 spread of the rounds without (max/min)");
        int workers = Math.max(1, cores / 4);
        System.out.printf(Locale.ROOT, "reading it: at saturation (closed loop) p99 with/without = %.2f, throughput"
                        + " with/without = %.2f%s%s.%n", p99, ratios.get("throughput with/without"), noise == null
                        ? " (one round only: run without --quick to see how far the baseline moves by itself)"
                        : String.format(Locale.ROOT, "; the rounds without a shadow differ among themselves by up to"
                                + " %.2fx in p99, so a ratio within that is noise", noise),
                ratios.containsKey("paced: p99 with/without") ? String.format(Locale.ROOT, "; paced at %.0f"
                        + " requests/s, p99 with/without = %.2f (rounds without differ by up to %.2fx)", pacedRate,
                        ratios.get("paced: p99 with/without"),
                        ratios.getOrDefault("paced: noise: p99 spread of the rounds without (max/min)", Double.NaN))
                        : "");
        System.out.printf(Locale.ROOT, "  The server kept %.2f cores busy on average without the shadow and %.2f with"
                        + " it (closed loop), on a %d-core machine shared with the load generator. The shadow runs on"
                        + " %d worker thread(s) (max(1, cores / 4)) with a queue of 128 inputs: it ran %.1f inputs/s"
                        + " at %.1f ms each and skipped %.1f%% of the inputs (a skip costs the primary a read of a"
                        + " counter).%n",
                meanCores(false), meanCores(true), cores, workers, s.get("runs_per_second"), s.get("mean_ms"),
                100 * s.get("skipped_share"));
        if ("idle".equals(options.shadowPriority())) {
            System.out.println("  Shadow priority idle: the forward passes run on a SCHED_IDLE thread (and the libtorch"
                    + " threads it starts), so they only get CPU time nothing else wants; what remains of the effect"
                    + " is what a scheduler cannot separate: the shadow's passes use the idle share of the cores"
                    + " (the extra cores busy above) and stream its weights through the shared caches and memory.");
        } else {
            System.out.println("  Shadow priority normal: the forward passes compete for the CPU with the primary's"
                    + " request threads on equal terms, so on a machine with few cores their CPU time is taken from"
                    + " the primary. Compare with the default, --shadow-priority idle.");
        }
    }

    /** Layer widths with runs of equal ones shortened: [4096, 4096] stays, a thousand 32s read 32x1000. */
    static String compact(List<Integer> widths) {
        var parts = new ArrayList<String>();
        for (int i = 0; i < widths.size(); ) {
            int j = i;
            while (j < widths.size() && widths.get(j).equals(widths.get(i))) {
                j++;
            }
            if (j - i > 4) {
                parts.add(widths.get(i) + "x" + (j - i));
            } else {
                for (int k = i; k < j; k++) {
                    parts.add(widths.get(k).toString());
                }
            }
            i = j;
        }
        return "[" + String.join(", ", parts) + "]";
    }

    private static String text(JsonNode n) {
        if (n == null || n.isMissingNode() || n.isNull()) {
            return "-";
        }
        return n.isNumber() ? String.format(Locale.ROOT, "%.3g", n.asDouble()) : n.asText();
    }

    private void writeJson() throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "shadow");
        doc.put("time", Instant.now().toString());
        doc.put("cores", Runtime.getRuntime().availableProcessors());
        doc.put("java", Runtime.version().toString());
        doc.put("load_average_at_start", loadAverageAtStart);
        doc.put("warmup_seconds", options.warmup().toMillis() / 1e3);
        doc.put("measure_seconds", options.measure().toMillis() / 1e3);
        doc.put("slow_model", slowModel);
        doc.put("shadow_priority", options.shadowPriority());
        doc.put("rounds", options.rounds());
        doc.put("paced_load", options.pacedLoad());
        doc.put("paced_rate", pacedRate);
        doc.put("results", rows);
        doc.put("pooled", pooled);
        doc.put("ratios", ratios());
        doc.put("shadow", shadowTotals());
        doc.put("comparison", comparison);
        doc.put("checks", checks);
        doc.put("error_samples", List.copyOf(errorSamples));
        Files.createDirectories(options.out().toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(options.out().toFile(), doc);
    }
}
