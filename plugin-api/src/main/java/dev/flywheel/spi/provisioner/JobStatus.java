package dev.flywheel.spi.provisioner;

/**
 * A job's state.
 *
 * @param state where the job is
 * @param message details, such as the reason for a failure
 * @param device the device the job actually runs on, such as {@code cuda:0 (NVIDIA A10G)} or {@code cpu};
 *     {@code null} while unknown
 * @param exitCode the exit status once the job ended, else {@code null}
 */
public record JobStatus(State state, String message, String device, Integer exitCode) {

    /** Where a job is. */
    public enum State {
        /** Accepted, waiting for resources. */
        PENDING,
        /** Running. */
        RUNNING,
        /** Ended with exit status 0. */
        SUCCEEDED,
        /** Ended otherwise. */
        FAILED,
        /** Stopped by {@link GpuProvisioner#cancel}. */
        CANCELLED,
        /** The provisioner no longer knows the job (e.g. its host restarted). */
        LOST;

        /** Whether the job has ended. */
        public boolean isTerminal() {
            return this != PENDING && this != RUNNING;
        }
    }
}
