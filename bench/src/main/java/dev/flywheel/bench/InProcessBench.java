package dev.flywheel.bench;

import ai.djl.inference.Predictor;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Scenario (a), the ceiling: DJL's predictor called in-process by the load threads themselves, no HTTP, no JSON.
 * Each thread has its own predictor, as in the bare server.
 *
 * <p>Runs in its own child process ({@code java -cp flywheel-bench.jar dev.flywheel.bench.InProcessBench MODEL_DIR
 * CONCURRENCIES WARMUP_MS MEASURE_MS}) so that libtorch is never loaded into the harness, which only generates
 * load; prints one {@value #RESULT} line of JSON per concurrency.
 */
public final class InProcessBench {

    /** Prefix of a result line on stdout. */
    public static final String RESULT = "RESULT ";

    private InProcessBench() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        Duration warmup = Duration.ofMillis(Long.parseLong(args[2]));
        Duration measure = Duration.ofMillis(Long.parseLong(args[3]));
        var json = new ObjectMapper();
        try (DjlClassifier classifier = DjlClassifier.load(modelDir)) {
            for (String c : args[1].split(",")) {
                int concurrency = Integer.parseInt(c.trim());
                long[] cpu = new long[2];
                PhaseResult r = ClosedLoop.run(PredictBench.IN_PROCESS, concurrency, warmup, measure, thread -> {
                    Predictor<float[], DjlClassifier.Classification> predictor = classifier.newPredictor();
                    var inputs = new FeatureInputs(thread);
                    return new ClosedLoop.Caller() {
                        @Override
                        public boolean call(long seq) throws Exception {
                            return predictor.predict(inputs.next(seq)).label() != null;
                        }

                        @Override
                        public void close() {
                            predictor.close();
                        }
                    };
                }, new ClosedLoop.Window() {
                    @Override
                    public void started() {
                        cpu[0] = ChildProcess.selfCpuNanos();
                    }

                    @Override
                    public void ended() {
                        cpu[1] = ChildProcess.selfCpuNanos();
                    }
                });
                double cpuUs = (cpu[1] - cpu[0]) / 1e3 / Math.max(r.requests(), 1);
                System.out.println(RESULT + json.writeValueAsString(Map.of("result", r, "cpu_us_per_request", cpuUs)));
                System.out.flush();
            }
        }
        // DJL's and libtorch's own threads are not daemons everywhere; the results are out, so end now.
        System.exit(0);
    }
}
