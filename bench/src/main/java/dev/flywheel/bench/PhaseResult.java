package dev.flywheel.bench;

/**
 * What one scenario did at one concurrency during its measured period.
 *
 * @param scenario e.g. {@code b-bare-javalin}
 * @param concurrency requests in flight at all times
 * @param seconds the measured period's length
 * @param requests requests that completed in it, successful or not
 * @param errors of those, the ones that failed (a non-200 answer, a wrong body, an I/O error or an exception)
 * @param throughput successful requests per second
 * @param p50Ms median latency of the measured requests
 * @param p99Ms 99th percentile latency
 * @param meanMs mean latency
 * @param acknowledged successful requests over the whole phase, warm-up included: what the server promised to log
 */
public record PhaseResult(String scenario, int concurrency, double seconds, long requests, long errors,
        double throughput, double p50Ms, double p99Ms, double meanMs, long acknowledged) {}
