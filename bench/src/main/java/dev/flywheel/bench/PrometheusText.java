package dev.flywheel.bench;

import java.util.ArrayList;
import java.util.List;

/** A scrape of Prometheus' text format: just enough to sum a metric's samples, optionally filtered by a label. */
final class PrometheusText {

    private record Sample(String name, String labels, double value) {}

    private final List<Sample> samples;

    private PrometheusText(List<Sample> samples) {
        this.samples = samples;
    }

    static PrometheusText parse(String text) {
        var samples = new ArrayList<Sample>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            if (space < 0) {
                continue;
            }
            String name;
            String labels = "";
            if (brace >= 0 && brace < space) {
                name = line.substring(0, brace);
                labels = line.substring(brace, line.lastIndexOf('}') + 1);
            } else {
                name = line.substring(0, space).trim();
            }
            try {
                samples.add(new Sample(name, labels, Double.parseDouble(line.substring(space + 1).trim())));
            } catch (NumberFormatException ignored) {
                // a timestamped or odd line: not one we need
            }
        }
        return new PrometheusText(samples);
    }

    /** The sum of every sample of {@code name} whose labels contain each of {@code labelParts}; 0 if none. */
    double sum(String name, String... labelParts) {
        double total = 0;
        for (Sample s : samples) {
            if (!s.name().equals(name)) {
                continue;
            }
            boolean match = true;
            for (String part : labelParts) {
                match &= s.labels().contains(part);
            }
            if (match) {
                total += s.value();
            }
        }
        return total;
    }

    /** How much a counter (or a timer's count or sum) grew between two scrapes. */
    static double delta(PrometheusText before, PrometheusText after, String name, String... labelParts) {
        return after.sum(name, labelParts) - before.sum(name, labelParts);
    }

    /** Every metric name, to show what a server exposes. */
    List<String> names() {
        return samples.stream().map(Sample::name).distinct().sorted().toList();
    }
}
