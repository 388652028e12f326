package dev.flywheel.bench;

/**
 * A {@link ClosedLoop.Window} that samples, at the start and the end of the measured period, the CPU time of the
 * process under test and of this load generator, and (for Flywheel) {@code GET /metrics}: the warm-up (JIT, first
 * connections) is left out of every per-request number derived from them.
 */
final class ServerWindow implements ClosedLoop.Window {

    private final ChildProcess server;
    private final FlywheelAdmin admin;
    private final long[] serverCpu = new long[2];
    private final long[] loadCpu = new long[2];
    private final PrometheusText[] scrapes = new PrometheusText[2];

    /**
     * @param server the process under test
     * @param admin its API, to scrape {@code /metrics}; {@code null} for a server without them
     */
    ServerWindow(ChildProcess server, FlywheelAdmin admin) {
        this.server = server;
        this.admin = admin;
    }

    @Override
    public void started() throws Exception {
        serverCpu[0] = server.cpuNanos();
        loadCpu[0] = ChildProcess.selfCpuNanos();
        scrapes[0] = admin == null ? null : admin.metrics();
    }

    @Override
    public void ended() throws Exception {
        serverCpu[1] = server.cpuNanos();
        loadCpu[1] = ChildProcess.selfCpuNanos();
        scrapes[1] = admin == null ? null : admin.metrics();
    }

    /** The server's CPU time in the measured period per request measured, in microseconds. */
    double serverCpuUsPer(long requests) {
        return (serverCpu[1] - serverCpu[0]) / 1e3 / Math.max(requests, 1);
    }

    /** The load generator's CPU time in the measured period per request measured, in microseconds. */
    double loadCpuUsPer(long requests) {
        return (loadCpu[1] - loadCpu[0]) / 1e3 / Math.max(requests, 1);
    }

    /** How many of the server's CPU cores it kept busy on average in the measured period. */
    double serverCores(double seconds) {
        return (serverCpu[1] - serverCpu[0]) / 1e9 / seconds;
    }

    PrometheusText before() {
        return scrapes[0];
    }

    PrometheusText after() {
        return scrapes[1];
    }

    /** How much a metric grew over the measured period. */
    double delta(String name, String... labelParts) {
        return PrometheusText.delta(scrapes[0], scrapes[1], name, labelParts);
    }
}
