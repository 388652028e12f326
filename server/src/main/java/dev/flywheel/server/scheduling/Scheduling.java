package dev.flywheel.server.scheduling;

import dev.flywheel.server.persistence.Database;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.quartz.Job;
import org.quartz.JobBuilder;
import org.quartz.JobDetail;
import org.quartz.JobKey;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.SimpleScheduleBuilder;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.TriggerKey;
import org.quartz.impl.StdSchedulerFactory;
import org.quartz.utils.ConnectionProvider;
import org.quartz.utils.DBConnectionManager;

/**
 * The Quartz scheduler, on the JDBC job store in the server's own database. On PostgreSQL it runs clustered, so
 * several servers over one database share the work and each scheduled fire runs once; H2 is single-node.
 *
 * <p>Jobs are built by {@link #register}ed suppliers rather than by reflection, so that they get the services they
 * need without statics.
 */
public final class Scheduling implements AutoCloseable {

    private final Scheduler scheduler;
    private final Map<Class<? extends Job>, Supplier<? extends Job>> jobs = new ConcurrentHashMap<>();
    private final String dataSourceName;

    /**
     * @param database the database whose {@code qrtz_} tables hold the schedule
     * @param instanceId this node's id in the cluster, or {@code null} for a generated one
     * @param threads how many jobs may run at once on this node
     */
    public Scheduling(Database database, String instanceId, int threads) {
        this.dataSourceName = "flywheel-" + UUID.randomUUID();
        DBConnectionManager.getInstance().addConnectionProvider(dataSourceName, new ConnectionProvider() {
            @Override
            public Connection getConnection() throws SQLException {
                return database.dataSource().getConnection();
            }

            @Override
            public void shutdown() {
                // the server closes the pool itself
            }

            @Override
            public void initialize() {
                // the pool is already open
            }
        });
        var p = new Properties();
        p.setProperty("org.quartz.scheduler.instanceName", "flywheel");
        p.setProperty("org.quartz.scheduler.instanceId", instanceId == null ? "AUTO" : instanceId);
        p.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
        p.setProperty("org.quartz.threadPool.threadCount", Integer.toString(threads));
        p.setProperty("org.quartz.threadPool.threadNamePrefix", "flywheel-scheduler");
        p.setProperty("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
        p.setProperty("org.quartz.jobStore.driverDelegateClass", "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate");
        p.setProperty("org.quartz.jobStore.dataSource", dataSourceName);
        p.setProperty("org.quartz.jobStore.tablePrefix", "qrtz_");
        p.setProperty("org.quartz.jobStore.isClustered", Boolean.toString(database.isPostgres()));
        p.setProperty("org.quartz.jobStore.clusterCheckinInterval", "5000");
        p.setProperty("org.quartz.jobStore.misfireThreshold", "30000");
        // Each server instance needs its own scheduler object in this JVM (tests run several).
        p.setProperty("org.quartz.scheduler.instanceName", "flywheel");
        try {
            var factory = new StdSchedulerFactory(p);
            // StdSchedulerFactory caches schedulers by name in a JVM-wide repository; a unique name would break
            // clustering (the cluster is keyed by name), so the repository entry is removed after creation instead.
            this.scheduler = factory.getScheduler();
            org.quartz.impl.SchedulerRepository.getInstance().remove(scheduler.getSchedulerName());
            scheduler.setJobFactory((bundle, s) -> {
                Supplier<? extends Job> supplier = jobs.get(bundle.getJobDetail().getJobClass());
                if (supplier == null) {
                    throw new SchedulerException("no job registered for " + bundle.getJobDetail().getJobClass());
                }
                return supplier.get();
            });
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot create the scheduler: " + e.getMessage(), e);
        }
    }

    /** Tells the scheduler how to build a job class. */
    public <T extends Job> void register(Class<T> type, Supplier<T> supplier) {
        jobs.put(type, supplier);
    }

    public void start() {
        try {
            scheduler.start();
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot start the scheduler: " + e.getMessage(), e);
        }
    }

    /**
     * Schedules a job to run at a fixed interval, replacing any earlier schedule of that name (idempotent across
     * restarts and across the nodes of a cluster).
     */
    public void every(String name, Class<? extends Job> type, Duration interval, Map<String, Object> data) {
        JobDetail job = JobBuilder.newJob(type).withIdentity(name, "flywheel").storeDurably()
                .usingJobData(new org.quartz.JobDataMap(data)).build();
        Trigger trigger = TriggerBuilder.newTrigger().withIdentity(name, "flywheel").forJob(job)
                .withSchedule(SimpleScheduleBuilder.simpleSchedule()
                        .withIntervalInMilliseconds(interval.toMillis()).repeatForever()
                        .withMisfireHandlingInstructionNextWithRemainingCount())
                .build();
        try {
            scheduler.scheduleJob(job, java.util.Set.of(trigger), true);
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot schedule " + name + ": " + e.getMessage(), e);
        }
    }

    /** Runs a job once, as soon as a scheduler thread of any node is free. */
    public void once(String name, Class<? extends Job> type, Map<String, Object> data) {
        JobDetail job = JobBuilder.newJob(type).withIdentity(name, "flywheel").usingJobData(new org.quartz.JobDataMap(data))
                .build();
        Trigger trigger = TriggerBuilder.newTrigger().withIdentity(name, "flywheel").forJob(job).startNow().build();
        try {
            scheduler.scheduleJob(job, java.util.Set.of(trigger), true);
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot schedule " + name + ": " + e.getMessage(), e);
        }
    }

    /** Removes a job and its triggers; does nothing if there is none. */
    public void cancel(String name) {
        try {
            scheduler.unscheduleJob(TriggerKey.triggerKey(name, "flywheel"));
            scheduler.deleteJob(JobKey.jobKey(name, "flywheel"));
        } catch (SchedulerException e) {
            throw new IllegalStateException("cannot remove " + name + ": " + e.getMessage(), e);
        }
    }

    /** Whether this node runs and the store is reachable; for {@code /health}. */
    public boolean isRunning() {
        try {
            return scheduler.isStarted() && !scheduler.isShutdown() && !scheduler.isInStandbyMode();
        } catch (SchedulerException e) {
            return false;
        }
    }

    public String instanceId() {
        try {
            return scheduler.getSchedulerInstanceId();
        } catch (SchedulerException e) {
            return "unknown";
        }
    }

    /** Stops scheduling new fires and waits for running jobs to finish. */
    @Override
    public void close() {
        try {
            scheduler.shutdown(true);
        } catch (SchedulerException e) {
            // shutting down anyway
        }
    }
}
