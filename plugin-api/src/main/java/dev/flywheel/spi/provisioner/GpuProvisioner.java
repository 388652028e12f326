package dev.flywheel.spi.provisioner;

import java.util.List;

/**
 * Runs training jobs somewhere with the requested GPU. Every method may be called from any thread and must
 * return promptly: the server polls {@link #status} and {@link #logs} rather than waiting.
 */
public interface GpuProvisioner extends AutoCloseable {

    /** The GPU types this provisioner can offer now, such as {@code A10G}; empty for CPU only. */
    List<GpuType> gpuTypes();

    /**
     * Starts a job.
     *
     * @param spec what to run and on what
     * @return a handle the server stores with the run, to find the job again after a restart
     * @throws ProvisioningException when the job cannot be started; {@link ProvisioningException#retryable()}
     *     says whether trying again later may help
     */
    JobHandle submit(TrainingJobSpec spec) throws ProvisioningException;

    /**
     * The job's state now.
     *
     * @throws ProvisioningException when it cannot be determined
     */
    JobStatus status(JobHandle handle) throws ProvisioningException;

    /**
     * The console output from an offset on. The offset's unit is the provisioner's own (characters, bytes): the
     * server starts at 0 and then only ever passes back a {@link LogChunk#nextOffset()} it was given.
     *
     * @param handle the job
     * @param fromOffset 0, or the {@code nextOffset} of the previous chunk
     * @throws ProvisioningException when the log cannot be read
     */
    LogChunk logs(JobHandle handle, long fromOffset) throws ProvisioningException;

    /**
     * Stops the job and frees what it holds. Cancelling a finished job does nothing. May block while the job is
     * given its grace period to stop (the server calls it off the request path where it can).
     *
     * @throws ProvisioningException when it cannot be stopped
     */
    void cancel(JobHandle handle) throws ProvisioningException;

    @Override
    default void close() {}
}
