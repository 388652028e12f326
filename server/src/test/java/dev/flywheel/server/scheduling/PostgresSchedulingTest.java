package dev.flywheel.server.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.server.persistence.Database;
import dev.flywheel.server.testing.TestDatabase;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PostgresSchedulingTest extends SchedulingContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }

    /** Two servers on one PostgreSQL database form a cluster: each fire of a shared schedule runs on one of them. */
    @Test
    void aClusterRunsEachFireOnce() throws Exception {
        try (var tdb = TestDatabase.create(backend(), dir);
                var dbA = Database.open(tdb.url(), tdb.user(), tdb.password());
                var dbB = Database.open(tdb.url(), tdb.user(), tdb.password());
                var nodeA = new Scheduling(dbA, "node-a", 2);
                var nodeB = new Scheduling(dbB, "node-b", 2)) {
            var fires = new ConcurrentHashMap<Long, Integer>();
            var byNode = new ConcurrentHashMap<String, Integer>();
            var latch = new CountDownLatch(15);
            nodeA.register(CountingJob.class, () -> new CountingJob(fires, latch) {
                @Override
                public void execute(org.quartz.JobExecutionContext c) {
                    byNode.merge("a", 1, Integer::sum);
                    super.execute(c);
                }
            });
            nodeB.register(CountingJob.class, () -> new CountingJob(fires, latch) {
                @Override
                public void execute(org.quartz.JobExecutionContext c) {
                    byNode.merge("b", 1, Integer::sum);
                    super.execute(c);
                }
            });
            nodeA.start();
            nodeB.start();
            // Both nodes declare the same schedule, as two servers starting up would.
            nodeA.every("shared", CountingJob.class, Duration.ofMillis(100), Map.of());
            nodeB.every("shared", CountingJob.class, Duration.ofMillis(100), Map.of());

            assertThat(latch.await(30, TimeUnit.SECONDS)).isTrue();
            nodeA.cancel("shared");
            assertThat(fires.values()).as("fires by scheduled time: %s", fires).allMatch(n -> n == 1);
            long clusterRows = dbA.jdbi().withHandle(h -> h.createQuery(
                    "SELECT COUNT(*) FROM qrtz_scheduler_state").mapTo(Long.class).one());
            assertThat(clusterRows).isEqualTo(2);
        }
    }
}
