package dev.flywheel.plugins.runtime.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.runtime.InvalidInputException;
import dev.flywheel.spi.runtime.ModelInput;
import dev.flywheel.spi.runtime.ModelOutput;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Many callers on one real model: their inputs share forward passes and each still gets its own answer. */
class ConcurrentPredictTest {

    private static final int CALLS = 64;

    @Test
    void concurrentCallsAreBatchedAndEachGetsItsOwnResult() throws Exception {
        List<Fixtures.Sample> samples = Fixtures.featureSamples();
        // A generous delay so that callers released together land in the same few passes.
        DjlModelRuntime runtime = new DjlModelRuntime(16, Duration.ofMillis(200), System.getLogger("test"));
        ExecutorService pool = Executors.newFixedThreadPool(CALLS);
        try (DjlLoadedModel model = (DjlLoadedModel) runtime.load(Fixtures.artifact(Fixtures.FEATURES))) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Object>> results = new ArrayList<>();
            for (int i = 0; i < CALLS; i++) {
                int call = i;
                results.add(pool.submit(() -> {
                    start.await();
                    if (call % 8 == 7) {
                        // A bad input fails its own call only, before it reaches a batch.
                        try {
                            return model.predict(List.of(new ModelInput.Features(new float[] {1, 2, 3})));
                        } catch (InvalidInputException e) {
                            return e;
                        }
                    }
                    Fixtures.Sample s = samples.get(call % samples.size());
                    return model.predict(List.of(new ModelInput.Features(s.features())));
                }));
            }
            start.countDown();

            int good = 0;
            for (int i = 0; i < CALLS; i++) {
                Object result = results.get(i).get(60, TimeUnit.SECONDS);
                if (i % 8 == 7) {
                    assertThat(result).isInstanceOf(InvalidInputException.class);
                    assertThat(((InvalidInputException) result).getMessage()).isEqualTo("expected 4 features, got 3");
                    continue;
                }
                @SuppressWarnings("unchecked")
                List<ModelOutput> out = (List<ModelOutput>) result;
                assertThat(out).hasSize(1);
                assertThat(out.get(0).label()).as("call %d", i).isEqualTo(samples.get(i % samples.size()).label());
                good++;
            }

            Batcher.Stats stats = model.batchStats();
            assertThat(stats.rows()).isEqualTo(good);
            assertThat(stats.forwardPasses()).as("forward passes for %d calls", good).isLessThan(good);
            assertThat(stats.largestBatch()).isGreaterThan(1).isLessThanOrEqualTo(16);
        } finally {
            pool.shutdownNow();
            runtime.close();
        }
    }
    /**
     * The server's shadow threads call {@code predictOnCallingThread} while the batcher serves the same model: the
     * passes run concurrently on the callers' threads (the batcher sees none of them), give the batched answers, and
     * once the model is closed they are refused rather than touching freed native memory.
     */
    @Test
    void passesOnCallersThreadsRunBesideTheBatcherAndGiveTheSameAnswers() throws Exception {
        List<Fixtures.Sample> samples = Fixtures.featureSamples();
        DjlModelRuntime runtime = new DjlModelRuntime(4, Duration.ZERO, System.getLogger("test"));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        DjlLoadedModel model = (DjlLoadedModel) runtime.load(Fixtures.artifact(Fixtures.FEATURES));
        try {
            List<ModelInput> inputs = new ArrayList<>();
            for (Fixtures.Sample s : samples) {
                inputs.add(new ModelInput.Features(s.features()));
            }
            List<ModelOutput> batched = model.predict(inputs);
            long passesBefore = model.batchStats().forwardPasses();

            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<ModelOutput>>> direct = new ArrayList<>();
            List<Future<List<ModelOutput>>> viaBatcher = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                direct.add(pool.submit(() -> {
                    start.await();
                    return model.predictOnCallingThread(inputs);
                }));
                viaBatcher.add(pool.submit(() -> {
                    start.await();
                    return model.predict(inputs);
                }));
            }
            start.countDown();
            for (int i = 0; i < 4; i++) {
                List<ModelOutput> d = direct.get(i).get(60, TimeUnit.SECONDS);
                assertThat(d).hasSize(samples.size());
                for (int j = 0; j < samples.size(); j++) {
                    assertThat(d.get(j).label()).isEqualTo(samples.get(j).label());
                    assertThat(d.get(j).confidence()).isCloseTo(batched.get(j).confidence(),
                            org.assertj.core.data.Offset.offset(1e-5));
                }
                assertThat(viaBatcher.get(i).get(60, TimeUnit.SECONDS)).hasSize(samples.size());
            }
            // Only the four batched calls went through the batcher (in chunks of at most 4 rows).
            long batchedRows = model.batchStats().rows() - samples.size();
            assertThat(batchedRows).isEqualTo(4L * samples.size());
            assertThat(model.batchStats().forwardPasses() - passesBefore)
                    .isLessThanOrEqualTo(4L * ((samples.size() + 3) / 4));

            assertThatThrownBy(() -> model.predictOnCallingThread(List.of(new ModelInput.Features(new float[] {1}))))
                    .isInstanceOf(InvalidInputException.class).hasMessage("expected 4 features, got 1");
            model.close();
            assertThatThrownBy(() -> model.predictOnCallingThread(inputs))
                    .isInstanceOf(IllegalStateException.class).hasMessage("the model has been unloaded");
        } finally {
            model.close();
            pool.shutdownNow();
            runtime.close();
        }
    }
}
