package dev.flywheel.plugins.provisioner.kubernetes;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/** Kubernetes-safe names and label values derived from a run. */
final class JobNames {

    /** The Job controller copies the Job name into a pod label, so it must fit a label value too. */
    static final int MAX_NAME = 63;
    private static final String PREFIX = "flywheel-";

    private JobNames() {}

    /**
     * The Job name for a run: {@code flywheel-} and the run id, lower-cased, with anything outside
     * {@code [a-z0-9-]} replaced by {@code -}. Where that changed or shortened the id, a hash of the original id
     * is appended, so two runs never share a name and the same run always gets the same one.
     */
    static String jobName(String runId) {
        String clean = runId.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        if (clean.equals(runId) && !clean.isEmpty() && !clean.endsWith("-")
                && PREFIX.length() + clean.length() <= MAX_NAME) {
            return PREFIX + clean;
        }
        String hash = hash(runId);
        int room = MAX_NAME - PREFIX.length() - hash.length() - 1;
        String head = (clean.length() > room ? clean.substring(0, room) : clean).replaceAll("-+$", "");
        return head.isEmpty() ? PREFIX + hash : PREFIX + head + "-" + hash;
    }

    /** The name of the Secret holding a Job's run token. */
    static String secretName(String jobName) {
        return jobName + "-run-token";
    }

    /**
     * A label value carrying as much of {@code text} as a label may: at most 63 characters of
     * {@code [A-Za-z0-9._-]}, starting and ending with a letter or digit. The exact text goes into an annotation.
     */
    static String labelValue(String text) {
        String clean = text.replaceAll("[^A-Za-z0-9._-]", "_");
        if (clean.length() > MAX_NAME) {
            clean = clean.substring(0, MAX_NAME);
        }
        return clean.replaceAll("^[^A-Za-z0-9]+", "").replaceAll("[^A-Za-z0-9]+$", "");
    }

    private static String hash(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
