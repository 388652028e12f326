package dev.flywheel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.atomic.AtomicLong;

/**
 * The review-queue benchmark: how {@code GET /api/deployments/{d}/review-queue?limit=50} behaves as the prediction
 * table grows, against {@code GET /api/deployments/{d}/predictions?limit=50} (a plain page of the same rows, read
 * through the {@code (deployment_id, id)} index) measured at the same size in the same run; and how fast
 * {@code POST /api/deployments/{d}/reviews} records bulks of 50 reviews.
 *
 * <p>One Flywheel server, one durable deployment of {@code features-3class}. For each size (10 000 and 100 000 by
 * default) the deployment is filled up to that many logged predictions ({@code POST …/predictions} from several
 * threads; a share below the confidence threshold, one in {@code flagEvery} flagged), the queue's counts are
 * checked against what was logged, then the baseline and the queue are loaded in turn at a small concurrency, then
 * a number of bulk reviews is sent. The reviews stay: the next size's table holds them, as a real one would.
 */
final class ReviewQueueBench {

    static final int LIMIT = 50;
    static final int BULK = 50;
    private static final String PAGE = "predictions-page";
    private static final String QUEUE = "review-queue";
    private static final String REVIEWS = "reviews-bulk-50";
    private static final String FILL = "log-prediction";

    /**
     * The benchmark's settings.
     *
     * @param sizes the table sizes (logged predictions of the deployment), ascending
     * @param warmup per read phase, not measured
     * @param measure per read phase, measured
     * @param concurrency requests in flight in the read phases
     * @param fillConcurrency threads logging predictions
     * @param bulks bulk review requests per size
     * @param reviewConcurrency bulk review requests in flight
     * @param lowShare the share of predictions below the confidence threshold
     * @param flagEvery one prediction in this many is flagged
     * @param backgroundWritesPerSecond predictions logged per second while the reads are measured (0: none)
     * @param fixture the deployed model
     * @param dist the assembled product
     * @param out the JSON results file
     * @param logDir the server's console
     * @param flywheelJavaOpts extra JVM options for the server
     */
    record Options(List<Integer> sizes, Duration warmup, Duration measure, int concurrency, int fillConcurrency,
            int bulks, int reviewConcurrency, double lowShare, int flagEvery, int backgroundWritesPerSecond, Path fixture, Path dist, Path out,
            Path logDir, String flywheelJavaOpts) {}

    /**
     * One phase at one table size.
     *
     * @param size logged predictions of the deployment
     * @param result what the load generator saw
     * @param serverCpuUsPerRequest the server's CPU time per measured request ({@code NaN} for fills and reviews)
     */
    record Row(long size, PhaseResult result, double serverCpuUsPerRequest) {}

    private final Options options;
    private final List<Row> rows = new ArrayList<>();
    private final Map<String, Object> checks = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<String> errorSamples = new ConcurrentLinkedQueue<>();
    private final AtomicLong anomaliesLogged = new AtomicLong();
    private long logged;
    private long reviewed;
    private long reviewedAnomalies;
    private double loadAverageAtStart;
    private volatile boolean failed;

    ReviewQueueBench(Options options) {
        this.options = options;
    }

    /** Runs every size; returns the process exit status (1 when a request failed or a check did not hold). */
    int run() throws Exception {
        var os = ManagementFactory.getOperatingSystemMXBean();
        loadAverageAtStart = os.getSystemLoadAverage();
        System.out.printf(Locale.ROOT, "Flywheel review-queue benchmark: %d cores, %s %s, Java %s, load average %.2f%n",
                Runtime.getRuntime().availableProcessors(), os.getName(), os.getArch(), Runtime.version(),
                loadAverageAtStart);
        System.out.printf(Locale.ROOT, "sizes %s; reads at concurrency %d, %d s warm-up + %d s measured, %d"
                        + " predictions/s logged meanwhile; %d bulk reviews of %d per size; %.0f%% below the"
                        + " threshold, 1 in %d flagged%n%n",
                options.sizes(), options.concurrency(), options.warmup().toSeconds(), options.measure().toSeconds(),
                options.backgroundWritesPerSecond(), options.bulks(), BULK, 100 * options.lowShare(), options.flagEvery());
        JsonNode meta = new ObjectMapper().readTree(options.fixture().resolve("model.json").toFile());
        List<String> labels = new ArrayList<>();
        meta.path("labels").forEach(l -> labels.add(l.asText()));
        try (FlywheelServerProcess server = FlywheelServerProcess.start(options.dist(), "flywheel-server-review-queue",
                options.logDir(), options.flywheelJavaOpts())) {
            FlywheelAdmin admin = server.admin();
            String version = admin.uploadModel("bench-review-queue", options.fixture());
            String d = admin.deploy("bench-review-queue", version, "durable");
            double threshold = admin.get("/api/deployments/" + d).path("settings")
                    .path("review_confidence_threshold").asDouble();
            var mix = new LoggedPredictions(labels, threshold, options.lowShare(), options.flagEvery());
            String page = "/api/deployments/" + d + "/predictions?limit=" + LIMIT;
            String queue = "/api/deployments/" + d + "/review-queue?limit=" + LIMIT;
            for (int size : options.sizes()) {
                fill(server, d, version, mix, size);
                checkQueueCounts(admin, d, size);
                if (size == options.sizes().get(0)) {
                    // Once, before anything is measured: the first phase would otherwise pay for the JIT alone.
                    read(server, PAGE + "-jit-warm-up", size, page, false);
                    read(server, QUEUE + "-jit-warm-up", size, queue, false);
                }
                // Predictions keep arriving while people read the queue. A table that never changes would also let
                // H2 answer a repeated query from its result cache, which no production queue gets to do.
                try (var writes = new BackgroundLogger(server, d, version, mix, options.backgroundWritesPerSecond())) {
                    read(server, PAGE, size, page, true);
                    read(server, QUEUE, size, queue, true);
                    logged += writes.stop();
                }
                review(server, d, size, labels, threshold);
            }
            long count = admin.countPredictions(d);
            boolean ok = count == logged;
            System.out.printf(Locale.ROOT, "check: the deployment holds %d predictions for %d logged: %s%n", count,
                    logged, ok ? "OK" : "MISMATCH");
            checks.put("final_count", count);
            checks.put("final_count_ok", ok);
            failed |= !ok;
        }
        printResults();
        writeJson();
        return failed ? 1 : 0;
    }

    // ---- fill --------------------------------------------------------------------------------------------

    private void fill(FlywheelServerProcess server, String d, String version, LoggedPredictions mix, int size)
            throws Exception {
        long from = logged;
        long count = size - from;
        if (count <= 0) {
            return;
        }
        System.out.printf(Locale.ROOT, "filling to %,d logged predictions (%,d more, %d threads)…%n", size, count,
                options.fillConcurrency());
        String path = "/api/deployments/" + d + "/predictions";
        PhaseResult r = ClosedLoop.runCount(FILL, options.fillConcurrency(), count, thread -> {
            var conn = new HttpConnection(server.port(), server.authHeader());
            var inputs = new FeatureInputs(0x5EEDL ^ (from << 8) ^ thread);
            return new ClosedLoop.Caller() {
                @Override
                public boolean call(long seq) throws IOException {
                    long n = from + seq;
                    LoggedPredictions.Entry e = mix.entry(n);
                    byte[] body = mix.json(n, inputs.next(n), version).getBytes(StandardCharsets.UTF_8);
                    HttpConnection.Response resp = conn.post(path, body);
                    String text = resp.text();
                    String id = resp.status() == 201 ? idOf(text) : null;
                    if (id == null) {
                        sample(FILL, resp.status(), text);
                        return false;
                    }
                    boolean anomaly = e.confidence() < mix.threshold();
                    if (e.flagged()) {
                        HttpConnection.Response f = conn.post("/api/predictions/" + id + "/flag",
                                "{\"reason\":\"benchmark: flagged\"}".getBytes(StandardCharsets.UTF_8));
                        if (f.status() != 200) {
                            sample("flag", f.status(), f.text());
                            if (anomaly) {
                                anomaliesLogged.incrementAndGet();
                            }
                            return false;
                        }
                        anomaly = true;
                    }
                    if (anomaly) {
                        anomaliesLogged.incrementAndGet();
                    }
                    return true;
                }

                @Override
                public void close() {
                    conn.close();
                }
            };
        });
        // Failed logs are errors (exit 1); the count check below then tells what the table really holds.
        logged += r.acknowledged();
        add(new Row(size, r, Double.NaN));
    }

    /**
     * Logs predictions at a steady low rate on one connection until stopped, continuing the numbering of the fill
     * (and counting its anomalies), so that the checks stay exact.
     */
    private final class BackgroundLogger implements AutoCloseable {

        private final Thread thread;
        private volatile boolean running = true;
        private long done;
        private boolean stopped;

        BackgroundLogger(FlywheelServerProcess server, String d, String version, LoggedPredictions mix, int perSecond) {
            long first = logged;
            long pauseNanos = perSecond <= 0 ? 0 : 1_000_000_000L / perSecond;
            this.thread = new Thread(() -> {
                if (perSecond <= 0) {
                    return;
                }
                var conn = new HttpConnection(server.port(), server.authHeader());
                var inputs = new FeatureInputs(0xB6L ^ first);
                try {
                    for (long n = first; running; n++) {
                        long start = System.nanoTime();
                        LoggedPredictions.Entry e = mix.entry(n);
                        boolean ok = false;
                        try {
                            HttpConnection.Response r = conn.post("/api/deployments/" + d + "/predictions",
                                    mix.json(n, inputs.next(n), version).getBytes(StandardCharsets.UTF_8));
                            ok = r.status() == 201;
                            if (!ok) {
                                sample("background log", r.status(), r.text());
                            }
                        } catch (IOException ex) {
                            sample("background log", -1, ex.toString());
                        }
                        if (!ok) {
                            failed = true;
                            return;
                        }
                        // Never flagged here: a flag needs the id and a second request; the fill flags enough.
                        if (e.confidence() < mix.threshold()) {
                            anomaliesLogged.incrementAndGet();
                        }
                        done++;
                        long left = pauseNanos - (System.nanoTime() - start);
                        if (left > 0) {
                            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
                        }
                    }
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                } finally {
                    conn.close();
                }
            }, "background-log");
            thread.setDaemon(true);
            thread.start();
        }

        /** Stops and returns how many predictions it logged. */
        long stop() throws InterruptedException {
            running = false;
            thread.join();
            stopped = true;
            return done;
        }

        @Override
        public void close() throws InterruptedException {
            if (!stopped) {
                logged += stop();
            }
        }
    }

    /** The queue's counts must match what was logged, flagged and reviewed: correctness before speed. */
    private void checkQueueCounts(FlywheelAdmin admin, String d, int size) throws Exception {
        JsonNode q = admin.get("/api/deployments/" + d + "/review-queue?limit=" + LIMIT);
        long toReview = q.path("to_review").asLong();
        long anomalies = q.path("anomalies").asLong();
        long items = q.path("items").size();
        long expectedToReview = logged - reviewed;
        long expectedAnomalies = anomaliesLogged.get() - reviewedAnomalies;
        boolean ok = toReview == expectedToReview && anomalies == expectedAnomalies
                && items == Math.min(LIMIT, expectedToReview);
        System.out.printf(Locale.ROOT, "check at %,d: the queue says %d to review (expected %d), %d anomalies"
                        + " (expected %d), %d items: %s%n", size, toReview, expectedToReview, anomalies,
                expectedAnomalies, items, ok ? "OK" : "MISMATCH");
        checks.put("queue_counts_ok_at_" + size, ok);
        failed |= !ok;
    }

    // ---- reads -------------------------------------------------------------------------------------------

    private void read(FlywheelServerProcess server, String name, int size, String path, boolean keep)
            throws Exception {
        var window = new ServerWindow(server.child(), null);
        PhaseResult r = ClosedLoop.run(name, options.concurrency(), options.warmup(), options.measure(), thread -> {
            var conn = new HttpConnection(server.port(), server.authHeader());
            return new ClosedLoop.Caller() {
                @Override
                public boolean call(long seq) throws IOException {
                    HttpConnection.Response resp = conn.get(path);
                    String text = resp.text();
                    // Every page and every queue here is full: a short one is a wrong answer, not a fast one.
                    boolean ok = resp.status() == 200 && countPredictions(text) == LIMIT;
                    if (!ok) {
                        sample(name, resp.status(), text);
                    }
                    return ok;
                }

                @Override
                public void close() {
                    conn.close();
                }
            };
        }, window);
        if (keep) {
            add(new Row(size, r, window.serverCpuUsPer(r.requests())));
        } else {
            failed |= r.errors() > 0;
        }
    }

    /** How many prediction objects a page or a queue holds: their {@code "id":"prd…"} fields. */
    static int countPredictions(String json) {
        int n = 0;
        for (int i = json.indexOf("\"id\":\"prd"); i >= 0; i = json.indexOf("\"id\":\"prd", i + 1)) {
            n++;
        }
        return n;
    }

    /** The {@code id} of a prediction answered by the server, or {@code null}. */
    static String idOf(String json) {
        int i = json.indexOf("\"id\":\"");
        if (i < 0) {
            return null;
        }
        int start = i + 6;
        int end = json.indexOf('"', start);
        return end < 0 ? null : json.substring(start, end);
    }

    // ---- reviews -----------------------------------------------------------------------------------------

    private record Pending(String id, String label, boolean anomaly) {}

    private void review(FlywheelServerProcess server, String d, int size, List<String> labels, double threshold)
            throws Exception {
        int warm = Math.max(1, options.bulks() / 10);
        int bulks = options.bulks();
        List<Pending> todo = toReview(server.admin(), d, (long) (warm + bulks) * BULK, threshold);
        if (todo.size() < (warm + bulks) * BULK) {
            System.out.printf(Locale.ROOT, "only %d predictions to review at %,d: fewer bulks%n", todo.size(), size);
            bulks = Math.max(0, todo.size() / BULK - warm);
            if (bulks == 0) {
                return;
            }
        }
        var bodies = new ArrayList<String>();
        var anomalies = new ArrayList<Integer>();
        for (int b = 0; b < warm + bulks; b++) {
            var sb = new StringBuilder("{\"reviews\":[");
            int a = 0;
            for (int i = 0; i < BULK; i++) {
                Pending p = todo.get(b * BULK + i);
                a += p.anomaly() ? 1 : 0;
                // One in five is a correction to another label, the rest acceptances: both paths are exercised.
                String action = i % 5 == 4
                        ? "\"correct\",\"label\":\"" + labels.get((labels.indexOf(p.label()) + 1) % labels.size()) + "\""
                        : "\"accept\"";
                sb.append(i == 0 ? "" : ",").append("{\"prediction_id\":\"").append(p.id()).append("\",\"action\":")
                        .append(action).append('}');
            }
            bodies.add(sb.append("]}").toString());
            anomalies.add(a);
        }
        String path = "/api/deployments/" + d + "/reviews";
        // The first bulks warm the path up (JIT); they are reviews all the same and are counted as such.
        int offset = 0;
        for (int[] part : new int[][] {{warm, 0}, {bulks, 1}}) {
            int count = part[0];
            int first = offset;
            var done = new boolean[count];
            PhaseResult r = ClosedLoop.runCount(REVIEWS, options.reviewConcurrency(), count, thread -> {
                var conn = new HttpConnection(server.port(), server.authHeader());
                return new ClosedLoop.Caller() {
                    @Override
                    public boolean call(long seq) throws IOException {
                        HttpConnection.Response resp = conn.post(path,
                                bodies.get(first + (int) seq).getBytes(StandardCharsets.UTF_8));
                        String text = resp.text();
                        boolean ok = resp.status() == 200 && text.contains("\"reviewed\":" + BULK)
                                && text.contains("\"failed\":0");
                        if (!ok) {
                            sample(REVIEWS, resp.status(), text);
                        }
                        done[(int) seq] = ok;
                        return ok;
                    }

                    @Override
                    public void close() {
                        conn.close();
                    }
                };
            });
            for (int i = 0; i < count; i++) {
                if (done[i]) {
                    reviewed += BULK;
                    reviewedAnomalies += anomalies.get(first + i);
                }
            }
            if (part[1] == 1) {
                add(new Row(size, r, Double.NaN));
            } else {
                failed |= r.errors() > 0;
            }
            offset += count;
        }
    }

    /** Predictions still to review, newest first, read page by page (not timed). */
    private static List<Pending> toReview(FlywheelAdmin admin, String d, long wanted, double threshold)
            throws Exception {
        var out = new ArrayList<Pending>();
        String cursor = null;
        do {
            JsonNode page = admin.get("/api/deployments/" + d + "/predictions?status=TO_REVIEW&limit=500"
                    + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8)));
            for (JsonNode p : page.path("items")) {
                boolean flagged = p.hasNonNull("flag");
                out.add(new Pending(p.path("id").asText(), p.path("label").asText(),
                        flagged || p.path("confidence").asDouble() < threshold));
            }
            JsonNode next = page.path("next_cursor");
            cursor = next.isNull() || next.isMissingNode() || next.asText().isEmpty() ? null : next.asText();
        } while (cursor != null && out.size() < wanted);
        return out.size() > wanted ? new ArrayList<>(out.subList(0, (int) wanted)) : out;
    }

    // ---- output ------------------------------------------------------------------------------------------

    private void sample(String what, int status, String body) {
        if (errorSamples.size() < 5) {
            errorSamples.add(what + ": " + status + " " + ChildProcess.tail(body));
        }
    }

    private void add(Row row) {
        rows.add(row);
        PhaseResult r = row.result();
        System.out.printf(Locale.ROOT, "  %-17s at %,8d  c=%-3d %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  errors %d%n",
                r.scenario(), row.size(), r.concurrency(), r.throughput(), r.p50Ms(), r.p99Ms(), r.errors());
        failed |= r.errors() > 0;
    }

    private PhaseResult find(String name, long size) {
        return rows.stream().filter(r -> r.size() == size && r.result().scenario().equals(name)).map(Row::result)
                .findFirst().orElse(null);
    }

    /** Queue over baseline at one size: latency ratios (higher is slower) and the throughput ratio. */
    static Map<String, Double> ratios(PhaseResult page, PhaseResult queue) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (page != null && queue != null) {
            out.put("p50 queue/page", queue.p50Ms() / page.p50Ms());
            out.put("p99 queue/page", queue.p99Ms() / page.p99Ms());
            out.put("throughput queue/page", queue.throughput() / page.throughput());
        }
        return out;
    }

    private Map<String, Map<String, Double>> allRatios() {
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        for (int size : options.sizes()) {
            out.put(Integer.toString(size), ratios(find(PAGE, size), find(QUEUE, size)));
        }
        int first = options.sizes().get(0);
        int last = options.sizes().get(options.sizes().size() - 1);
        if (first != last) {
            Map<String, Double> growth = new LinkedHashMap<>();
            PhaseResult q0 = find(QUEUE, first);
            PhaseResult q1 = find(QUEUE, last);
            PhaseResult p0 = find(PAGE, first);
            PhaseResult p1 = find(PAGE, last);
            if (q0 != null && q1 != null) {
                growth.put("queue p50", q1.p50Ms() / q0.p50Ms());
            }
            if (p0 != null && p1 != null) {
                growth.put("page p50", p1.p50Ms() / p0.p50Ms());
            }
            out.put("growth " + last + "/" + first, growth);
        }
        return out;
    }

    private void printResults() {
        System.out.println();
        System.out.println("size      phase              conc     req/s   p50 ms   p99 ms  mean ms  errors  "
                + "server CPU µs/req");
        for (Row row : rows) {
            PhaseResult r = row.result();
            String extra = r.scenario().equals(REVIEWS)
                    ? String.format(Locale.ROOT, "   (%.0f reviews/s)", r.throughput() * BULK) : "";
            System.out.printf(Locale.ROOT, "%-9d %-17s %5d %9.1f %8.2f %8.2f %8.2f %7d %18s%s%n", row.size(),
                    r.scenario(), r.concurrency(), r.throughput(), r.p50Ms(), r.p99Ms(), r.meanMs(), r.errors(),
                    Double.isNaN(row.serverCpuUsPerRequest()) ? "-"
                            : String.format(Locale.ROOT, "%.0f", row.serverCpuUsPerRequest()), extra);
        }
        System.out.println();
        allRatios().forEach((k, v) -> {
            var line = new StringBuilder(k.startsWith("growth") ? k + ":" : "ratios at " + k + ":");
            v.forEach((name, x) -> line.append(String.format(Locale.ROOT, "  %s = %.2f", name, x)));
            System.out.println(line);
        });
        System.out.println("(the page is the baseline, meant to be one indexed range read of 50 rows: if its own latency"
                + " grows with the size, it is not. The queue also runs up to four ordered selects and two COUNTs over"
                + " the deployment's waiting predictions; a queue/page ratio that grows with the size is their cost.)");
        if (!errorSamples.isEmpty()) {
            System.out.println();
            System.out.println("first failed requests:");
            errorSamples.forEach(e -> System.out.println("  " + e));
        }
        System.out.println();
        System.out.println("results: " + options.out() + "; server console: " + options.logDir());
    }

    private void writeJson() throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "review-queue");
        doc.put("time", Instant.now().toString());
        doc.put("cores", Runtime.getRuntime().availableProcessors());
        doc.put("java", Runtime.version().toString());
        doc.put("load_average_at_start", loadAverageAtStart);
        doc.put("options", Map.of("background_writes_per_second", options.backgroundWritesPerSecond(),
                "sizes", options.sizes(), "warmup_seconds", options.warmup().toSeconds(),
                "measure_seconds", options.measure().toSeconds(), "concurrency", options.concurrency(),
                "bulks", options.bulks(), "low_share", options.lowShare(), "flag_every", options.flagEvery()));
        doc.put("results", rows);
        doc.put("ratios", allRatios());
        doc.put("checks", checks);
        doc.put("error_samples", List.copyOf(errorSamples));
        Files.createDirectories(options.out().toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(options.out().toFile(), doc);
    }
}
