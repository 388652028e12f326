package dev.flywheel.bench;

import ai.djl.inference.Predictor;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.json.JavalinJackson;
import java.nio.file.Path;

/**
 * Scenario (b): the predict endpoint a user would write by hand with Javalin and DJL, with no logging, no
 * authentication and no batching: parse the JSON, run the model on this thread's own predictor, answer
 * {@code {label, confidence, scores}}. It is the baseline Flywheel's predict is compared with.
 *
 * <p>Run as a child process of the benchmark ({@code java -cp flywheel-bench.jar dev.flywheel.bench.BareServer
 * PORT MODEL_DIR}); it prints {@value #READY} once it answers, binds 127.0.0.1 only, and runs until killed.
 */
public final class BareServer {

    /** Printed on stdout once the server is listening. */
    public static final String READY = "bare server ready";

    /** The request body. */
    record PredictRequest(float[] features) {}

    private BareServer() {}

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        DjlClassifier classifier = DjlClassifier.load(Path.of(args[1]));
        // Predictors hold native state and are not thread-safe; one per Jetty thread, made on first use.
        ThreadLocal<Predictor<float[], DjlClassifier.Classification>> predictors =
                ThreadLocal.withInitial(classifier::newPredictor);
        Javalin app = Javalin.create(config -> {
            config.jsonMapper(new JavalinJackson(new ObjectMapper(), false));
            config.startup.showJavalinBanner = false;
            config.routes.post("/predict", ctx -> {
                PredictRequest req = ctx.bodyAsClass(PredictRequest.class);
                if (req.features() == null || req.features().length != classifier.inputSize()) {
                    ctx.status(400).json(java.util.Map.of("error", "expected " + classifier.inputSize() + " features"));
                    return;
                }
                ctx.json(predictors.get().predict(req.features()));
            });
        });
        app.start("127.0.0.1", port);
        System.out.println(READY + " on port " + app.port());
        System.out.flush();
    }
}
