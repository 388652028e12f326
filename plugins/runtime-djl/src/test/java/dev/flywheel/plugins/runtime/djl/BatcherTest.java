package dev.flywheel.plugins.runtime.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The batching logic with a fake forward pass that can be held, so that which requests share a pass is
 * decided by what is queued, not by timing.
 */
class BatcherTest {

    private final ExecutorService callers = Executors.newCachedThreadPool();
    private final List<Integer> passSizes = new CopyOnWriteArrayList<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch firstPassStarted = new CountDownLatch(1);

    @AfterEach
    void stopCallers() {
        callers.shutdownNow();
    }

    /** Echoes each row's first value doubled; the first pass waits until the test releases it. */
    private float[][] heldForward(float[][] rows) {
        passSizes.add(rows.length);
        firstPassStarted.countDown();
        // Like a native forward pass, this one cannot be cut short by an interrupt.
        boolean interrupted = false;
        while (release.getCount() > 0) {
            try {
                release.await();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        float[][] out = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i][0] < 0) {
                throw new IllegalArgumentException("negative row");
            }
            out[i] = new float[] {rows[i][0] * 2};
        }
        return out;
    }

    private Future<float[][]> submitAsync(Batcher batcher, float... firstValues) {
        float[][] rows = new float[firstValues.length][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = new float[] {firstValues[i]};
        }
        return callers.submit(() -> batcher.submit(rows));
    }

    private static void awaitWaiting(Batcher batcher, int n) throws InterruptedException {
        for (int i = 0; i < 10_000 && batcher.waiting() < n; i++) {
            Thread.sleep(1);
        }
        assertThat(batcher.waiting()).isEqualTo(n);
    }

    @Test
    void requestsQueuedDuringAPassShareTheNextPass() throws Exception {
        try (Batcher batcher = new Batcher("t", 32, Duration.ZERO, this::heldForward, getClass().getClassLoader())) {
            Future<float[][]> first = submitAsync(batcher, 1);
            assertThat(firstPassStarted.await(10, TimeUnit.SECONDS)).isTrue();
            List<Future<float[][]>> queued = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                queued.add(submitAsync(batcher, 10 + i));
            }
            awaitWaiting(batcher, 10);

            release.countDown();

            assertThat(first.get(10, TimeUnit.SECONDS)[0][0]).isEqualTo(2f);
            for (int i = 0; i < 10; i++) {
                float[][] result = queued.get(i).get(10, TimeUnit.SECONDS);
                assertThat(result).hasNumberOfRows(1);
                assertThat(result[0][0]).as("request %d gets its own row back", i).isEqualTo((10 + i) * 2f);
            }
            assertThat(passSizes).containsExactly(1, 10);
            assertThat(batcher.stats()).isEqualTo(new Batcher.Stats(2, 11, 10));
        }
    }

    @Test
    void batchesStopAtTheMaximumAndLargeRequestsAreSplitInOrder() throws Exception {
        try (Batcher batcher = new Batcher("t", 4, Duration.ZERO, this::heldForward, getClass().getClassLoader())) {
            Future<float[][]> first = submitAsync(batcher, 0);
            assertThat(firstPassStarted.await(10, TimeUnit.SECONDS)).isTrue();
            Future<float[][]> big = submitAsync(batcher, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
            awaitWaiting(batcher, 1);
            Future<float[][]> small = submitAsync(batcher, 100);
            awaitWaiting(batcher, 2);

            release.countDown();

            first.get(10, TimeUnit.SECONDS);
            float[][] bigOut = big.get(10, TimeUnit.SECONDS);
            for (int i = 0; i < 10; i++) {
                assertThat(bigOut[i][0]).isEqualTo((i + 1) * 2f);
            }
            assertThat(small.get(10, TimeUnit.SECONDS)[0][0]).isEqualTo(200f);
            // 10 rows in passes of at most 4, the small request filling the last pass's free slot.
            assertThat(passSizes).containsExactly(1, 4, 4, 3);
        }
    }

    @Test
    void aFailedPassFailsOnlyTheRequestsInIt() throws Exception {
        try (Batcher batcher = new Batcher("t", 1, Duration.ZERO, this::heldForward, getClass().getClassLoader())) {
            release.countDown();
            assertThatThrownBy(() -> batcher.submit(new float[][] {{-1}}))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("negative row");
            assertThat(batcher.submit(new float[][] {{3}})[0][0]).isEqualTo(6f);
        }
    }

    @Test
    void closeFailsWaitingRequestsAndRefusesNewOnes() throws Exception {
        Batcher batcher = new Batcher("t", 32, Duration.ZERO, this::heldForward, getClass().getClassLoader());
        Future<float[][]> inPass = submitAsync(batcher, 1);
        assertThat(firstPassStarted.await(10, TimeUnit.SECONDS)).isTrue();
        Future<float[][]> waiting = submitAsync(batcher, 2);
        awaitWaiting(batcher, 1);

        CompletableFuture<Void> closing = CompletableFuture.runAsync(batcher::close);
        // close() waits for the pass in progress: the model's memory must not be freed under it.
        Thread.sleep(50);
        assertThat(closing).isNotDone();
        release.countDown();
        closing.get(10, TimeUnit.SECONDS);

        assertThat(inPass.get(10, TimeUnit.SECONDS)[0][0]).isEqualTo(2f);
        assertThatThrownBy(() -> waiting.get(10, TimeUnit.SECONDS)).hasMessageContaining("unloaded");
        assertThatThrownBy(() -> batcher.submit(new float[][] {{1}})).hasMessageContaining("unloaded");
    }
}
