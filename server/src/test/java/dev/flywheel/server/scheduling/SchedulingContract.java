package dev.flywheel.server.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.server.persistence.Database;
import dev.flywheel.server.testing.TestDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quartz.Job;
import org.quartz.JobExecutionContext;

/** Quartz on the JDBC job store in the server's database, on H2 and on PostgreSQL. */
abstract class SchedulingContract {

    protected abstract TestDatabase.Kind backend();

    @TempDir
    Path dir;

    /** Counts fires by their scheduled time, to see whether any fire ran twice. */
    static class CountingJob implements Job {
        final Map<Long, Integer> fires;
        final CountDownLatch latch;

        CountingJob(Map<Long, Integer> fires, CountDownLatch latch) {
            this.fires = fires;
            this.latch = latch;
        }

        @Override
        public void execute(JobExecutionContext context) {
            fires.merge(context.getScheduledFireTime().getTime(), 1, Integer::sum);
            latch.countDown();
        }
    }

    @Test
    void jobsArePersistedInTheDatabaseAndRun() throws Exception {
        try (var tdb = TestDatabase.create(backend(), dir);
                var database = Database.open(tdb.url(), tdb.user(), tdb.password());
                var scheduling = new Scheduling(database, "node-a", 2)) {
            var fires = new ConcurrentHashMap<Long, Integer>();
            var latch = new CountDownLatch(3);
            scheduling.register(CountingJob.class, () -> new CountingJob(fires, latch));
            scheduling.start();
            scheduling.every("counting", CountingJob.class, Duration.ofMillis(200), Map.of("purpose", "test"));

            long stored = database.jdbi().withHandle(h -> h.createQuery(
                    "SELECT COUNT(*) FROM qrtz_job_details WHERE job_name = 'counting'").mapTo(Long.class).one());
            assertThat(stored).isEqualTo(1);
            assertThat(latch.await(20, TimeUnit.SECONDS)).isTrue();

            scheduling.cancel("counting");
            long left = database.jdbi().withHandle(h -> h.createQuery(
                    "SELECT COUNT(*) FROM qrtz_triggers WHERE trigger_name = 'counting'").mapTo(Long.class).one());
            assertThat(left).isZero();
        }
    }
}
