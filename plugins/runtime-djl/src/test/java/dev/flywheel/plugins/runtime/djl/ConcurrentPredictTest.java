package dev.flywheel.plugins.runtime.djl;

import static org.assertj.core.api.Assertions.assertThat;

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
}
