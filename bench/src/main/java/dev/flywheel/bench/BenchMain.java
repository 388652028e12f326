package dev.flywheel.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Entry point of {@code java -jar bench/target/flywheel-bench.jar <benchmark> [options]}. Today's one benchmark is
 * {@code predict} (see {@link PredictBench} and {@code bench/README.md}).
 */
public final class BenchMain {

    private static final String USAGE = """
            Usage: java -jar bench/target/flywheel-bench.jar predict [options]

              --warmup SECONDS        per phase, not measured (default 5)
              --measure SECONDS       per phase, measured (default 15)
              --concurrency LIST      requests in flight, e.g. 16,64 (default 16,64)
              --scenarios LIST        any of a,b,c,d (default a,b,c,d):
                                        a DJL in-process, b bare Javalin + DJL,
                                        c Flywheel durable capture, d Flywheel async capture
              --repo DIR              the repository (default: found from the jar's location)
              --out FILE              JSON results (default bench/target/predict-results.json)
              --flywheel-java-opts S  extra JVM options for the Flywheel server, e.g. a flight recording
            """;

    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !args[0].equals("predict")) {
            System.err.print(USAGE);
            System.exit(args.length > 0 && (args[0].equals("--help") || args[0].equals("-h")) ? 0 : 2);
        }
        Duration warmup = Duration.ofSeconds(5);
        Duration measure = Duration.ofSeconds(15);
        List<Integer> concurrencies = List.of(16, 64);
        Set<String> scenarios = new LinkedHashSet<>(PredictBench.allScenarios());
        Path repo = null;
        Path out = null;
        String javaOpts = "";
        try {
            for (int i = 1; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--help") || flag.equals("-h")) {
                    System.out.print(USAGE);
                    return;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                String value = args[++i];
                switch (flag) {
                    case "--warmup" -> warmup = seconds(flag, value);
                    case "--measure" -> measure = seconds(flag, value);
                    case "--concurrency" -> {
                        var list = new ArrayList<Integer>();
                        for (String c : value.split(",")) {
                            int n = Integer.parseInt(c.trim());
                            if (n < 1 || n > 1024) {
                                throw new IllegalArgumentException("--concurrency values are 1 to 1024, not " + n);
                            }
                            list.add(n);
                        }
                        concurrencies = List.copyOf(list);
                    }
                    case "--scenarios" -> {
                        scenarios = new LinkedHashSet<>();
                        for (String s : value.split(",")) {
                            scenarios.add(PredictBench.scenario(s));
                        }
                    }
                    case "--repo" -> repo = Path.of(value);
                    case "--out" -> out = Path.of(value);
                    case "--flywheel-java-opts" -> javaOpts = value;
                    default -> throw new IllegalArgumentException("unknown option " + flag);
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("flywheel-bench: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        }
        if (measure.isZero()) {
            System.err.println("flywheel-bench: --measure must be at least 1 second");
            System.exit(2);
        }
        repo = (repo == null ? findRepo() : repo).toAbsolutePath().normalize();
        Path model = repo.resolve("fixtures/models/features-3class");
        Path dist = repo.resolve("distribution/target/flywheel");
        if (!Files.isRegularFile(model.resolve("model.pt"))) {
            fail("no model at " + model + "; pass --repo <the repository>");
        }
        if ((scenarios.contains(PredictBench.DURABLE) || scenarios.contains(PredictBench.ASYNC))
                && !Files.isExecutable(dist.resolve("bin/flywheel"))) {
            fail("no assembled product at " + dist + "; build it first: mvn -B -q package -DskipTests");
        }
        Path target = repo.resolve("bench/target");
        out = out == null ? target.resolve("predict-results.json") : out;
        var options = new PredictBench.Options(warmup, measure, concurrencies, scenarios, model, dist, out,
                target.resolve("logs"), javaOpts);
        System.exit(new PredictBench(options).run());
    }

    private static Duration seconds(String flag, String value) {
        String v = value.endsWith("s") ? value.substring(0, value.length() - 1) : value;
        long s = Long.parseLong(v);
        if (s < 0 || s > 3600) {
            throw new IllegalArgumentException(flag + " is 0 to 3600 seconds, not " + value);
        }
        return Duration.ofSeconds(s);
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
