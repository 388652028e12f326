package dev.flywheel.server.training;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.config.Durations;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.plugins.ExtensionGateway;
import dev.flywheel.server.plugins.SecretSettings;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deployment's continuous training settings ({@code setup_continuous_training}): when to train (triggers), how
 * (trainer), where (provisioner and GPU type), and what to call the runs. Every setting is checked against the
 * extension that will use it, and errors name the field.
 */
public final class ContinuousTrainingService {

    static final String DEFAULT_NAME = "auto-retrain-v{n}";
    static final Duration DEFAULT_COOLDOWN = Duration.ofMinutes(10);
    static final Duration DEFAULT_TIMEOUT = Duration.ofHours(2);

    private final TrainingStore store;
    private final DeploymentService deployments;
    private final ExtensionGateway<RetrainingTriggerFactory> triggers;
    private final Provisioners provisioners;
    private final EventService events;
    private final Clock clock;

    /**
     * The body of {@code PUT /api/deployments/{d}/continuous-training}.
     *
     * @param triggerThreshold shorthand for a {@code review-threshold} trigger with this threshold
     * @param experimentName the run name template, {@code {n}} being the run counter (default auto-retrain-v{n})
     * @param gpuType the GPU type, such as {@code A10G}, or {@code null} for CPU
     * @param allowCpuFallback train on CPU when that GPU type is not available (default false)
     * @param provisioner the GPU provisioner's type (default {@code local})
     * @param provisionerConfig its settings
     * @param trainer {@code {"type": "builtin", "params": {...}}} or {@code {"type": "command", "command": [...]}}
     * @param triggers {@code [{"type", "config"}]}
     * @param cooldown least time between triggered runs (default 10m)
     * @param timeout longest a run may take (default 2h)
     * @param active whether to evaluate the triggers now; unchanged when omitted
     */
    public record Settings(Integer triggerThreshold, String experimentName, String gpuType, Boolean allowCpuFallback,
            String provisioner, Map<String, Object> provisionerConfig, TrainerSpec trainer, List<TriggerSpec> triggers,
            String cooldown, String timeout, Boolean active) {}

    public ContinuousTrainingService(TrainingStore store, DeploymentService deployments,
            ExtensionGateway<RetrainingTriggerFactory> triggers, Provisioners provisioners, EventService events,
            Clock clock) {
        this.store = store;
        this.deployments = deployments;
        this.triggers = triggers;
        this.provisioners = provisioners;
        this.events = events;
        this.clock = clock;
    }

    public ContinuousTraining get(String deploymentId) {
        deployments.get(deploymentId);
        return store.findConfig(deploymentId).orElseThrow(() -> new ApiException(404, "not_found", "deployment "
                + deploymentId + " has no continuous training; set it up with PUT /api/deployments/" + deploymentId
                + "/continuous-training"));
    }

    /** Replaces the settings (the run counter and, unless given, the active flag are kept). */
    public ContinuousTraining configure(String deploymentId, Settings s, Principal by) {
        deployments.get(deploymentId);
        var existing = store.findConfig(deploymentId);
        List<TriggerSpec> triggers = new ArrayList<>(s.triggers() == null ? List.of() : s.triggers());
        if (s.triggerThreshold() != null) {
            if (s.triggerThreshold() < 1) {
                throw ApiException.badRequest("invalid_field", "trigger_threshold must be at least 1");
            }
            if (triggers.stream().anyMatch(t -> t != null && "review-threshold".equals(t.type()))) {
                throw ApiException.badRequest("invalid_field", "give trigger_threshold or a review-threshold trigger, "
                        + "not both");
            }
            triggers.add(0, new TriggerSpec("review-threshold", Map.of("threshold", s.triggerThreshold())));
        }
        List<TriggerSpec> before = existing.map(ContinuousTraining::triggers).orElse(List.of());
        List<TriggerSpec> checked = new ArrayList<>();
        for (int i = 0; i < triggers.size(); i++) {
            // The same trigger saved again (same place, same type) keeps the secrets it leaves out.
            TriggerSpec t = triggers.get(i);
            TriggerSpec stored = i < before.size() && t != null && before.get(i).type().equals(t.type())
                    ? before.get(i) : null;
            checked.add(checkTrigger(t, stored, "triggers[" + i + "]"));
        }
        String name = s.experimentName() == null ? DEFAULT_NAME : s.experimentName().trim();
        if (name.isEmpty() || name.length() > 150) {
            throw ApiException.badRequest("invalid_field", "experiment_name must be 1 to 150 characters");
        }
        String provisioner = s.provisioner() == null ? "local" : s.provisioner();
        Map<String, Object> storedProvisionerConfig = existing.filter(e -> e.provisioner().equals(provisioner))
                .map(ContinuousTraining::provisionerConfig).orElse(Map.of());
        Map<String, Object> provisionerConfig = provisioners.validate(provisioner, SecretSettings.keep(
                provisioners.schema(provisioner, "provisioner"),
                s.provisionerConfig() == null ? Map.of() : s.provisionerConfig(), storedProvisionerConfig),
                "provisioner");
        TrainerSpec trainer = checkTrainer(s.trainer() == null ? TrainerSpec.BUILTIN : s.trainer());
        if (s.gpuType() != null && (s.gpuType().isBlank() || s.gpuType().length() > 100)) {
            throw ApiException.badRequest("invalid_field", "gpu_type must be a GPU type name such as A10G, or null for CPU");
        }
        Duration cooldown = s.cooldown() == null ? DEFAULT_COOLDOWN : Durations.parse("cooldown", s.cooldown());
        Duration timeout = s.timeout() == null ? DEFAULT_TIMEOUT : Durations.parse("timeout", s.timeout());
        if (timeout.isZero() || timeout.isNegative()) {
            throw ApiException.badRequest("invalid_field", "timeout must be positive");
        }
        boolean active = s.active() != null ? s.active() : existing.map(ContinuousTraining::active).orElse(false);
        var config = new ContinuousTraining(deploymentId, active, name, s.gpuType(),
                Boolean.TRUE.equals(s.allowCpuFallback()), provisioner, provisionerConfig, trainer, checked, cooldown,
                timeout, existing.map(ContinuousTraining::runCounter).orElse(0), by.actor(), clock.instant());
        store.saveConfig(config);
        store.clearTriggerStates(deploymentId);
        var data = new LinkedHashMap<String, Object>();
        data.put("triggers", checked);
        data.put("experiment_name", name);
        data.put("gpu_type", s.gpuType());
        data.put("provisioner", provisioner);
        data.put("trainer", trainer.type());
        data.put("active", active);
        events.event("continuous_training.configured", "continuous training of deployment " + deploymentId
                + " configured with " + checked.size() + " trigger(s)").actor(by.actor()).deployment(deploymentId)
                .data(data).record();
        return get(deploymentId);
    }

    /** Turns trigger evaluation on or off. */
    public ContinuousTraining setActive(String deploymentId, boolean active, Principal by) {
        ContinuousTraining c = get(deploymentId);
        if (c.active() != active) {
            store.setActive(deploymentId, active, by.actor(), clock.instant());
            events.event(active ? "continuous_training.activated" : "continuous_training.deactivated",
                    "continuous training turned " + (active ? "on" : "off")).actor(by.actor()).deployment(deploymentId)
                    .record();
        }
        return get(deploymentId);
    }

    /**
     * The settings as the API shows them: secret settings of the provisioner and the triggers masked. Viewers may
     * read the settings; nobody reads a secret back.
     */
    public ContinuousTraining withSecretsMasked(ContinuousTraining c) {
        Map<String, Object> provisionerConfig = provisioners.schemaIfInstalled(c.provisioner())
                .map(schema -> SecretSettings.mask(schema, c.provisionerConfig()))
                // Without its plugin the schema is unknown, and so is what is secret: show none of it.
                .orElse(Map.of());
        List<TriggerSpec> masked = c.triggers().stream().map(t -> new TriggerSpec(t.type(),
                triggers.find(t.type()).map(f -> SecretSettings.mask(triggers.schema(f), t.config()))
                        .orElse(Map.of()))).toList();
        return new ContinuousTraining(c.deploymentId(), c.active(), c.experimentName(), c.gpuType(),
                c.allowCpuFallback(), c.provisioner(), provisionerConfig, c.trainer(), masked, c.cooldown(),
                c.timeout(), c.runCounter(), c.updatedBy(), c.updatedAt());
    }

    private TriggerSpec checkTrigger(TriggerSpec t, TriggerSpec stored, String field) {
        if (t == null || t.type() == null || t.type().isBlank()) {
            throw ApiException.badRequest("invalid_field", field + ".type is required");
        }
        Map<String, Object> incoming = t.config() == null ? Map.of() : t.config();
        Map<String, Object> config = stored == null ? incoming
                : SecretSettings.keep(triggers.schema(triggers.require(t.type(), field + ".type")), incoming,
                        stored.config());
        return new TriggerSpec(t.type(), triggers.validate(t.type(), config, field + ".type", field + ".config")
                .asMap());
    }

    private static TrainerSpec checkTrainer(TrainerSpec t) {
        if ("builtin".equals(t.type())) {
            if (t.command() != null || t.image() != null) {
                throw ApiException.badRequest("invalid_field", "trainer.command and trainer.image are only for "
                        + "trainer type \"command\"");
            }
            return new TrainerSpec("builtin", t.params() == null ? Map.of() : t.params(), null, null);
        }
        if ("command".equals(t.type())) {
            if (t.command() == null || t.command().isEmpty() || t.command().stream().anyMatch(a -> a == null)) {
                throw ApiException.badRequest("invalid_field", "trainer.command is required for a command trainer, "
                        + "e.g. [\"/usr/bin/python3\", \"train.py\"]");
            }
            return new TrainerSpec("command", t.params() == null ? Map.of() : t.params(), List.copyOf(t.command()),
                    t.image());
        }
        throw ApiException.badRequest("invalid_field", "trainer.type must be \"builtin\" or \"command\"");
    }
}
