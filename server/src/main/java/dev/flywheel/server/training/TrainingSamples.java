package dev.flywheel.server.training;

import dev.flywheel.server.blobs.BlobStore;
import dev.flywheel.server.datasets.DatasetItem;
import dev.flywheel.server.datasets.DatasetService;
import dev.flywheel.server.http.Json;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.server.serving.PredictionService;
import dev.flywheel.server.serving.PredictionStore;
import dev.flywheel.spi.trigger.TriggerContext.Sample;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.imageio.ImageIO;

/**
 * The samples drift triggers compare: the deployment's recent traffic, and its reference — the reference dataset
 * version if it has one, otherwise the first traffic of its current primary. Inputs become numbers the same way for
 * both: feature vectors as they are, images as the mean and standard deviation of each colour channel.
 */
public final class TrainingSamples {

    /** Reading an input's numbers means a blob read and maybe an image decode; the answer never changes. */
    private static final int CACHE_SIZE = 50_000;

    private final PredictionService predictions;
    private final DeploymentService deployments;
    private final DatasetService datasets;
    private final BlobStore blobs;
    private final Map<String, double[]> cache = Collections.synchronizedMap(new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, double[]> eldest) {
            return size() > CACHE_SIZE;
        }
    });

    public TrainingSamples(PredictionService predictions, DeploymentService deployments, DatasetService datasets,
            BlobStore blobs) {
        this.predictions = predictions;
        this.deployments = deployments;
        this.datasets = datasets;
        this.blobs = blobs;
    }

    /** The newest traffic, newest first. */
    public Sample recent(String deploymentId, int maxSize) {
        return fromPredictions(predictions.observations(deploymentId, null, maxSize), true);
    }

    /** The reference sample, or empty when there is neither a reference dataset nor any traffic. */
    public Optional<Sample> reference(String deploymentId, int maxSize) {
        Deployment d = deployments.get(deploymentId);
        if (d.referenceDatasetVersionId() != null) {
            List<DatasetItem> items = datasets.firstItems(d.referenceDatasetVersionId(), maxSize);
            var labels = new ArrayList<String>();
            var features = new ArrayList<double[]>();
            for (DatasetItem item : items) {
                double[] f = numbers(item.assetSha256(), item.contentType());
                if (f != null) {
                    labels.add(item.label());
                    features.add(f);
                }
            }
            return labels.isEmpty() ? Optional.empty() : Optional.of(new Sample(labels, features, List.of()));
        }
        var baseline = predictions.observations(deploymentId, d.primaryModelVersionId(), maxSize);
        return baseline.isEmpty() ? Optional.empty() : Optional.of(fromPredictions(baseline, false));
    }

    private Sample fromPredictions(List<PredictionStore.Observation> rows, boolean withTimes) {
        var labels = new ArrayList<String>();
        var features = new ArrayList<double[]>();
        var times = new ArrayList<Instant>();
        for (var row : rows) {
            double[] f = row.inputInline() != null ? numbers(row.inputSha256(), row.contentType(), row.inputInline())
                    : numbers(row.inputSha256(), row.contentType());
            if (f == null) {
                continue;
            }
            labels.add(row.label());
            features.add(f);
            if (withTimes) {
                times.add(row.at());
            }
        }
        return new Sample(labels, features, times);
    }

    /** An input's numbers, or {@code null} when it cannot be read (it is then left out of the sample). */
    double[] numbers(String sha256, String contentType) {
        return numbers(sha256, contentType, null);
    }

    /** The same, for an input at hand (one kept in its prediction's row) rather than in the blob store. */
    double[] numbers(String sha256, String contentType, byte[] content) {
        double[] cached = cache.get(sha256);
        if (cached != null) {
            return cached;
        }
        double[] f;
        try {
            byte[] bytes = content != null ? content : blobs.read(sha256);
            f = "application/json".equals(contentType) ? features(bytes) : channelStats(bytes);
        } catch (RuntimeException | IOException e) {
            return null;
        }
        if (f != null) {
            cache.put(sha256, f);
        }
        return f;
    }

    private static double[] features(byte[] json) {
        Object values = Json.readMap(new String(json, java.nio.charset.StandardCharsets.UTF_8)).get("features");
        if (!(values instanceof List<?> list)) {
            return null;
        }
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) list.get(i)).doubleValue();
        }
        return out;
    }

    /** Mean and standard deviation of red, green and blue, each 0..1: six numbers per image. */
    private static double[] channelStats(byte[] image) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(image));
        if (img == null) {
            return null;
        }
        double[] sum = new double[3];
        double[] sq = new double[3];
        long n = (long) img.getWidth() * img.getHeight();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                double[] c = {((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0};
                for (int k = 0; k < 3; k++) {
                    sum[k] += c[k];
                    sq[k] += c[k] * c[k];
                }
            }
        }
        double[] out = new double[6];
        for (int k = 0; k < 3; k++) {
            double mean = sum[k] / n;
            out[k] = mean;
            out[3 + k] = Math.sqrt(Math.max(0, sq[k] / n - mean * mean));
        }
        return out;
    }
}
