package dev.flywheel.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Entry point of {@code java -jar bench/target/flywheel-bench.jar <benchmark> [options]}: {@code predict}
 * ({@link PredictBench}), {@code shadow} ({@link ShadowBench}) and {@code review-queue} ({@link ReviewQueueBench});
 * see {@code bench/README.md}.
 */
public final class BenchMain {

    private static final String USAGE = """
            Usage: java -jar bench/target/flywheel-bench.jar <predict | shadow | review-queue> [options]

            predict: DJL in-process, bare Javalin + DJL, Flywheel durable and async (about 4 minutes)
              --warmup SECONDS        per phase, not measured (default 5)
              --measure SECONDS       per phase, measured (default 15)
              --concurrency LIST      requests in flight, e.g. 16,64 (default 16,64)
              --scenarios LIST        any of a,b,c,d (default a,b,c,d):
                                        a DJL in-process, b bare Javalin + DJL,
                                        c Flywheel durable capture, d Flywheel async capture
              --flywheel-java-opts S  extra JVM options for the Flywheel server, e.g. a flight recording

            shadow: the primary's latency without and with a slow shadow model, at saturation and paced
            (about 4 minutes)
              --quick                 1 round, 2 s warm-up + 6 s measured, a 2-layer slow model
                                      (under a minute)
              --rounds N              pairs of phases (without, with) (default 3)
              --warmup SECONDS        per phase (default 3)
              --measure SECONDS       per phase (default 10)
              --concurrency N         predict requests in flight (default 16)
              --shadow-hidden LIST    the slow model's hidden layers (default 4096,4096,4096,4096)
              --shadow-priority P     the server's FLYWHEEL_SHADOW_PRIORITY: idle (its default) or normal
              --paced-load F          then the same rounds paced at F times the throughput measured
                                      without the shadow (default 0.5; 0 for none)
              --flywheel-java-opts S

            review-queue: GET review-queue?limit=50 against GET predictions?limit=50 as the table grows,
            and bulk reviews of 50 (about 4 minutes)
              --quick                 sizes 1000,5000, 1 s warm-up + 4 s measured (under a minute)
              --sizes LIST            logged predictions, ascending (default 10000,100000)
              --warmup SECONDS        per read phase (default 3)
              --measure SECONDS       per read phase (default 10)
              --concurrency N         read requests in flight (default 4)
              --fill-concurrency N    threads logging predictions (default 16)
              --bulks N               bulk reviews of 50 per size (default 40)
              --low-share X           share of predictions below the confidence threshold (default 0.15)
              --flag-every N          one prediction in N is flagged (default 1000)
              --background-writes N   predictions logged per second while reads are measured (default 50;
                                      0 measures a table that never changes)
              --flywheel-java-opts S

            every benchmark:
              --repo DIR              the repository (default: found from the jar's location)
              --out FILE              JSON results (default bench/target/<benchmark>-results.json)
            """;

    private static final Set<String> COMMON = Set.of("--repo", "--out", "--flywheel-java-opts", "--warmup",
            "--measure", "--concurrency");

    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        String command = args.length == 0 ? "" : args[0];
        if (command.equals("--help") || command.equals("-h")) {
            System.out.print(USAGE);
            return;
        }
        if (!Set.of("predict", "shadow", "review-queue").contains(command)) {
            System.err.print(USAGE);
            System.exit(2);
        }
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.print(USAGE);
            return;
        }
        int status;
        try {
            status = switch (command) {
                case "predict" -> predict(args);
                case "shadow" -> shadow(args);
                default -> reviewQueue(args);
            };
        } catch (IllegalArgumentException e) {
            System.err.println("flywheel-bench: " + e.getMessage());
            System.err.print(USAGE);
            status = 2;
        }
        System.exit(status);
    }

    private static Set<String> with(Set<String> base, String... more) {
        var all = new LinkedHashSet<>(base);
        all.addAll(List.of(more));
        return all;
    }

    private static int predict(String[] args) throws Exception {
        BenchArgs a = BenchArgs.parse(args, 1, with(COMMON, "--scenarios"), Set.of());
        Duration warmup = a.seconds("--warmup", Duration.ofSeconds(5));
        Duration measure = nonZero(a.seconds("--measure", Duration.ofSeconds(15)));
        List<Integer> concurrencies = a.integers("--concurrency", List.of(16, 64), 1, 1024);
        Set<String> scenarios = new LinkedHashSet<>(PredictBench.allScenarios());
        String s = a.string("--scenarios", null);
        if (s != null) {
            scenarios = new LinkedHashSet<>();
            for (String part : s.split(",")) {
                scenarios.add(PredictBench.scenario(part));
            }
        }
        Path repo = repo(a);
        Path model = fixture(repo);
        Path dist = repo.resolve("distribution/target/flywheel");
        if (scenarios.contains(PredictBench.DURABLE) || scenarios.contains(PredictBench.ASYNC)) {
            requireDist(dist);
        }
        Path target = repo.resolve("bench/target");
        Path out = out(a, target, "predict");
        var options = new PredictBench.Options(warmup, measure, concurrencies, scenarios, model, dist, out,
                target.resolve("logs"), a.string("--flywheel-java-opts", ""));
        return new PredictBench(options).run();
    }

    private static int shadow(String[] args) throws Exception {
        BenchArgs a = BenchArgs.parse(args, 1, with(COMMON, "--shadow-hidden", "--rounds", "--shadow-priority",
                "--paced-load"),
                Set.of("--quick"));
        boolean quick = a.has("--quick");
        Duration warmup = a.seconds("--warmup", Duration.ofSeconds(quick ? 2 : 3));
        Duration measure = nonZero(a.seconds("--measure", Duration.ofSeconds(quick ? 6 : 10)));
        int rounds = a.integer("--rounds", quick ? 1 : 3, 1, 100);
        int concurrency = a.integer("--concurrency", 16, 1, 1024);
        // --quick halves the model: uploading (and the server checking) 200 MB alone takes most of a minute here.
        List<Integer> hidden = a.integers("--shadow-hidden",
                quick ? List.of(4096, 4096) : List.of(4096, 4096, 4096, 4096), 1, 65_536);
        String priority = a.string("--shadow-priority", "idle");
        double pacedLoad = Double.parseDouble(a.string("--paced-load", "0.5"));
        if (!(pacedLoad >= 0 && pacedLoad < 1)) {
            throw new IllegalArgumentException("--paced-load must be at least 0 and below 1, not " + pacedLoad);
        }
        if (!priority.equals("idle") && !priority.equals("normal")) {
            throw new IllegalArgumentException("--shadow-priority must be idle or normal, not " + priority);
        }
        Path repo = repo(a);
        Path dist = repo.resolve("distribution/target/flywheel");
        requireDist(dist);
        Path target = repo.resolve("bench/target");
        var options = new ShadowBench.Options(priority, warmup, measure, Duration.ofSeconds(quick ? 3 : 10), concurrency, hidden, rounds, pacedLoad, fixture(repo), dist,
                target.resolve("shadow-model"), out(a, target, "shadow"), target.resolve("logs"),
                a.string("--flywheel-java-opts", ""));
        return new ShadowBench(options).run();
    }

    private static int reviewQueue(String[] args) throws Exception {
        BenchArgs a = BenchArgs.parse(args, 1, with(COMMON, "--sizes", "--fill-concurrency", "--bulks",
                "--low-share", "--flag-every", "--background-writes"), Set.of("--quick"));
        boolean quick = a.has("--quick");
        List<Integer> sizes = a.integers("--sizes", quick ? List.of(1_000, 5_000) : List.of(10_000, 100_000), 100,
                10_000_000);
        for (int i = 1; i < sizes.size(); i++) {
            if (sizes.get(i) <= sizes.get(i - 1)) {
                throw new IllegalArgumentException("--sizes must be ascending: the table only grows");
            }
        }
        Path repo = repo(a);
        Path dist = repo.resolve("distribution/target/flywheel");
        requireDist(dist);
        Path target = repo.resolve("bench/target");
        var options = new ReviewQueueBench.Options(sizes,
                a.seconds("--warmup", Duration.ofSeconds(quick ? 1 : 3)),
                nonZero(a.seconds("--measure", Duration.ofSeconds(quick ? 4 : 10))),
                a.integer("--concurrency", 4, 1, 256), a.integer("--fill-concurrency", 16, 1, 256),
                a.integer("--bulks", quick ? 10 : 40, 1, 10_000), 2, a.number("--low-share", 0.15, 0, 1),
                a.integer("--flag-every", 1000, 1, 1_000_000_000), a.integer("--background-writes", 50, 0, 10_000),
                fixture(repo), dist, out(a, target, "review-queue"),
                target.resolve("logs"), a.string("--flywheel-java-opts", ""));
        return new ReviewQueueBench(options).run();
    }

    private static Duration nonZero(Duration measure) {
        if (measure.isZero()) {
            throw new IllegalArgumentException("--measure must be at least 1 second");
        }
        return measure;
    }

    private static Path repo(BenchArgs a) throws Exception {
        String r = a.string("--repo", null);
        return (r == null ? findRepo() : Path.of(r)).toAbsolutePath().normalize();
    }

    private static Path fixture(Path repo) {
        Path model = repo.resolve("fixtures/models/features-3class");
        if (!Files.isRegularFile(model.resolve("model.pt"))) {
            fail("no model at " + model + "; pass --repo <the repository>");
        }
        return model;
    }

    private static void requireDist(Path dist) {
        if (!Files.isExecutable(dist.resolve("bin/flywheel"))) {
            fail("no assembled product at " + dist + "; build it first: mvn -B -q package -DskipTests");
        }
    }

    private static Path out(BenchArgs a, Path target, String benchmark) {
        String o = a.string("--out", null);
        return o == null ? target.resolve(benchmark + "-results.json") : Path.of(o);
    }

    /** The repository: this jar sits in {@code <repo>/bench/target/}; else the working directory or a parent. */
    private static Path findRepo() throws Exception {
        Path jar = Path.of(BenchMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        for (Path p = jar; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("fixtures/models")) && Files.isDirectory(p.resolve("bench"))) {
                return p;
            }
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("fixtures/models"))) {
                return p;
            }
        }
        fail("cannot find the repository from " + jar + "; pass --repo");
        return null;
    }

    private static void fail(String message) {
        System.err.println("flywheel-bench: " + message);
        System.exit(2);
    }
}
