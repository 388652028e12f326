package dev.flywheel.plugins.trigger.drift;

import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.TriggerContext;
import dev.flywheel.spi.trigger.TriggerContext.Sample;
import dev.flywheel.spi.trigger.TriggerDecision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Compares the most recent traffic with the reference sample and fires when the label mix or any feature has
 * drifted. Every statistic lands in the evidence, whether it fired or not.
 */
public final class DriftTrigger implements RetrainingTrigger {

    /** Quantile bins per feature for the feature PSI: the usual choice, enough resolution at 200+ items. */
    static final int FEATURE_BINS = 10;

    /**
     * The trigger's configuration.
     *
     * @param windowSize the most recent items compared
     * @param minWindow items needed, in the window and in the reference, before any decision
     * @param labelPsiThreshold the label PSI above which it fires
     * @param featurePsiThreshold the per-feature PSI above which it fires
     * @param ksPValue the family-wise KS p-value below which a feature may fire
     * @param ksMinStatistic the KS distance a feature must also reach
     * @param referenceSize the most reference items compared
     */
    public record Settings(
            int windowSize,
            int minWindow,
            double labelPsiThreshold,
            double featurePsiThreshold,
            double ksPValue,
            double ksMinStatistic,
            int referenceSize) {}

    private final Settings settings;

    /** A trigger with the given settings. */
    public DriftTrigger(Settings settings) {
        this.settings = settings;
    }

    @Override
    public TriggerDecision evaluate(TriggerContext context) {
        Sample window = context.recentSample(settings.windowSize());
        Optional<Sample> maybeReference = context.referenceSample(settings.referenceSize());
        var evidence = new LinkedHashMap<String, Object>();
        evidence.put("window_size", (long) window.size());
        evidence.put("window_size_setting", (long) settings.windowSize());
        evidence.put("min_window", (long) settings.minWindow());
        evidence.put("reference_size", (long) maybeReference.map(Sample::size).orElse(0));
        evidence.put("reference_size_setting", (long) settings.referenceSize());
        if (maybeReference.isEmpty() || maybeReference.get().size() == 0) {
            return TriggerDecision.hold("No reference to compare with yet: set the deployment's reference "
                    + "dataset version, or wait until the primary's first traffic forms one.", evidence);
        }
        Sample reference = maybeReference.get();
        if (window.size() < settings.minWindow()) {
            return TriggerDecision.hold("Waiting for traffic: " + window.size() + " of " + settings.minWindow()
                    + " recent predictions needed before comparing with the reference.", evidence);
        }
        if (reference.size() < settings.minWindow()) {
            return TriggerDecision.hold("The reference has only " + reference.size() + " items; "
                    + settings.minWindow() + " are needed (min_window) before comparing.", evidence);
        }

        var drifted = new ArrayList<String>();
        var label = PopulationStabilityIndex.ofCategories(reference.labels(), window.labels());
        evidence.put("label_psi", label.psi());
        evidence.put("label_psi_threshold", settings.labelPsiThreshold());
        evidence.put("most_drifted_label", label.mostShifted());
        evidence.put("reference_label_share", label.referenceShare());
        evidence.put("window_label_share", label.currentShare());
        boolean labelDrift = label.psi() > settings.labelPsiThreshold();
        if (labelDrift) {
            String top = label.mostShifted();
            drifted.add(String.format(Locale.ROOT, "label mix drifted: PSI %.2f > %s (most: '%s' %.0f%% -> %.0f%%)",
                    label.psi(), plain(settings.labelPsiThreshold()), top,
                    100 * label.referenceShare().getOrDefault(top, 0.0),
                    100 * label.currentShare().getOrDefault(top, 0.0)));
        }

        evidence.put("feature_psi_threshold", settings.featurePsiThreshold());
        evidence.put("ks_p_value_threshold", settings.ksPValue());
        evidence.put("ks_min_statistic", settings.ksMinStatistic());
        evidence.put("feature_bins", (long) FEATURE_BINS);
        List<FeatureDrift> features = compareFeatures(reference.features(), window.features());
        if (features.isEmpty()) {
            evidence.put("features", "not compared: no feature values on one side");
        } else {
            double perFeatureP = settings.ksPValue() / features.size();
            evidence.put("ks_p_value_threshold_per_feature", perFeatureP);
            evidence.put("features", features.stream().map(FeatureDrift::asEvidence).toList());
            FeatureDrift worst = null;
            for (FeatureDrift f : features) {
                boolean psiDrift = f.psi() > settings.featurePsiThreshold();
                boolean ksDrift = f.ks().pValue() < perFeatureP && f.ks().statistic() >= settings.ksMinStatistic();
                if (psiDrift || ksDrift) {
                    drifted.add(describe(f, psiDrift, ksDrift));
                }
                if (worst == null || f.severity(settings) > worst.severity(settings)) {
                    worst = f;
                }
            }
            evidence.put("most_drifted_feature", (long) worst.index());
            evidence.put("most_drifted_feature_psi", worst.psi());
            evidence.put("most_drifted_feature_ks_statistic", worst.ks().statistic());
            evidence.put("most_drifted_feature_ks_p_value", worst.ks().pValue());
            if (drifted.isEmpty()) {
                evidence.put("drifted", List.of());
                return TriggerDecision.hold(String.format(Locale.ROOT,
                        "No drift: label PSI %.2f <= %s; feature %d moved the most with PSI %.2f <= %s, "
                                + "KS D=%.2f p=%s %s",
                        label.psi(), plain(settings.labelPsiThreshold()), worst.index(), worst.psi(),
                        plain(settings.featurePsiThreshold()), worst.ks().statistic(),
                        formatP(worst.ks().pValue()), sizes(window, reference)), evidence);
            }
        }
        evidence.put("drifted", List.copyOf(drifted));
        if (drifted.isEmpty()) {
            return TriggerDecision.hold(String.format(Locale.ROOT, "No drift: label PSI %.2f <= %s %s",
                    label.psi(), plain(settings.labelPsiThreshold()), sizes(window, reference)), evidence);
        }
        return TriggerDecision.fire(String.join("; ", drifted) + " " + sizes(window, reference), evidence);
    }

    private List<FeatureDrift> compareFeatures(List<double[]> referenceRows, List<double[]> windowRows) {
        if (referenceRows.size() < settings.minWindow() || windowRows.size() < settings.minWindow()) {
            return List.of();
        }
        // A reference dataset may describe the inputs with a different width than live traffic (a model
        // change); only the dimensions both sides have can be compared.
        int dims = Math.min(minWidth(referenceRows), minWidth(windowRows));
        var out = new ArrayList<FeatureDrift>(dims);
        for (int k = 0; k < dims; k++) {
            double[] ref = column(referenceRows, k);
            double[] cur = column(windowRows, k);
            if (ref.length < settings.minWindow() || cur.length < settings.minWindow()) {
                continue;
            }
            double psi = PopulationStabilityIndex.ofContinuous(ref, cur, FEATURE_BINS);
            out.add(new FeatureDrift(k, psi, KolmogorovSmirnov.test(ref, cur)));
        }
        return out;
    }

    private static int minWidth(List<double[]> rows) {
        int width = Integer.MAX_VALUE;
        for (double[] row : rows) {
            width = Math.min(width, row == null ? 0 : row.length);
        }
        return rows.isEmpty() ? 0 : width;
    }

    /** One feature's values, leaving out non-finite ones (missing values often arrive as NaN). */
    private static double[] column(List<double[]> rows, int k) {
        return rows.stream().mapToDouble(r -> r[k]).filter(Double::isFinite).toArray();
    }

    private String describe(FeatureDrift f, boolean psiDrift, boolean ksDrift) {
        String psi = String.format(Locale.ROOT, "PSI %.2f %s %s", f.psi(), psiDrift ? ">" : "<=",
                plain(settings.featurePsiThreshold()));
        String ks = String.format(Locale.ROOT, "KS D=%.2f p=%s", f.ks().statistic(), formatP(f.ks().pValue()));
        return "feature " + f.index() + " drifted: " + psi + ", " + ks;
    }

    private static String sizes(Sample window, Sample reference) {
        return "(window " + window.size() + " vs reference " + reference.size() + ")";
    }

    /** A threshold as people write it: 0.25, not 0.250000. */
    private static String plain(double value) {
        return java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    /** A p-value with its order of magnitude visible: 0.034, 1e-12. */
    static String formatP(double p) {
        if (p >= 0.001) {
            return String.format(Locale.ROOT, "%.3f", p);
        }
        if (p < Double.MIN_NORMAL) {
            return "<1e-300";
        }
        String s = String.format(Locale.ROOT, "%.0e", p);
        // Java pads the exponent ("5e-05"); people write "5e-5".
        return s.replaceAll("e-0*(\\d)", "e-$1");
    }

    private record FeatureDrift(int index, double psi, KolmogorovSmirnov.Result ks) {

        /** How far past its thresholds the feature is, to name the one that drifted the most. */
        double severity(Settings s) {
            double psiRatio = s.featurePsiThreshold() > 0 ? psi / s.featurePsiThreshold() : psi;
            double ksRatio = s.ksMinStatistic() > 0 ? ks.statistic() / s.ksMinStatistic() : ks.statistic();
            return Math.max(psiRatio, ksRatio);
        }

        Map<String, Object> asEvidence() {
            var m = new LinkedHashMap<String, Object>();
            m.put("index", (long) index);
            m.put("psi", psi);
            m.put("ks_statistic", ks.statistic());
            m.put("ks_p_value", ks.pValue());
            return m;
        }
    }
}
