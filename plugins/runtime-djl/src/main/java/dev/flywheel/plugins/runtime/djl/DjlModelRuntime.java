package dev.flywheel.plugins.runtime.djl;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import dev.flywheel.spi.runtime.InputSpec;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelMetadata;
import dev.flywheel.spi.runtime.ModelRuntime;
import dev.flywheel.spi.runtime.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Loads TorchScript ({@code "torchscript"}) and DJL-native MLP ({@code "djl"}) classifiers on DJL's PyTorch
 * engine, on the CPU. Every loaded model gets its own batching dispatcher. Its {@link #trainer()} fine-tunes
 * models of both formats.
 */
public final class DjlModelRuntime implements ModelRuntime {

    /** The {@code format} of a TorchScript {@code .pt} file. */
    public static final String TORCHSCRIPT = "torchscript";
    /** The {@code format} of a DJL model directory: {@code architecture.json} and {@code model-NNNN.params}. */
    public static final String DJL = "djl";

    /** The parameter file prefix of a DJL-native model: {@code model-0000.params}. */
    static final String DJL_PARAMS_PREFIX = "model";
    private static final Pattern DJL_PARAMS = Pattern.compile(Pattern.quote(DJL_PARAMS_PREFIX) + "-\\d{4}\\.params");

    private final int maxBatchSize;
    private final Duration maxBatchDelay;
    private final System.Logger logger;
    private final Engine engine;
    private final Set<DjlLoadedModel> open = ConcurrentHashMap.newKeySet();
    private final DjlTrainer trainer = new DjlTrainer(this);

    /**
     * Starts the PyTorch engine (extracting libtorch on the first start on this machine).
     *
     * @param maxBatchSize the most inputs in one forward pass
     * @param maxBatchDelay how long a forward pass waits for more inputs once it has one
     * @param logger where load events go
     */
    public DjlModelRuntime(int maxBatchSize, Duration maxBatchDelay, System.Logger logger) {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("max_batch_size must be at least 1");
        }
        this.maxBatchSize = maxBatchSize;
        this.maxBatchDelay = maxBatchDelay;
        this.logger = logger;
        this.engine = PyTorchEngine.get();
        logger.log(System.Logger.Level.INFO, "DJL " + Engine.getDjlVersion() + " with PyTorch " + engine.getVersion()
                + " ready (max batch " + maxBatchSize + ", max delay " + maxBatchDelay.toMillis() + " ms)");
    }

    @Override
    public Set<String> formats() {
        return Set.of(TORCHSCRIPT, DJL);
    }

    @Override
    public LoadedModel load(ModelArtifact artifact) throws InvalidModelException {
        ModelMetadata metadata = artifact.metadata();
        checkMetadata(metadata);
        String name = artifact.directory().getFileName() == null ? "model" : artifact.directory().getFileName().toString();
        Model model = switch (metadata.format()) {
            case TORCHSCRIPT -> loadTorchScript(name, artifact.artifactFile());
            case DJL -> loadDjl(name, artifact.artifactFile(), metadata);
            default -> throw new InvalidModelException("this runtime loads the formats " + formats().stream().sorted()
                    .toList() + ", not \"" + metadata.format() + "\"");
        };
        DjlLoadedModel loaded = DjlLoadedModel.start(model, metadata, maxBatchSize, maxBatchDelay, open::remove);
        open.add(loaded);
        logger.log(System.Logger.Level.INFO, "loaded " + metadata.format() + " model " + artifact.artifactFile()
                + " with labels " + metadata.labels());
        return loaded;
    }

    /**
     * The built-in trainer: fine-tunes a TorchScript or DJL-native base model on a dataset export and writes the
     * new version in the base's format (see {@link DjlTrainer}).
     */
    @Override
    public Optional<Trainer> trainer() {
        return Optional.of(trainer);
    }

    /** Closes models the server did not close itself, so that their native memory is not leaked. */
    @Override
    public void close() {
        for (DjlLoadedModel m : List.copyOf(open)) {
            m.close();
        }
    }

    private static void checkMetadata(ModelMetadata metadata) throws InvalidModelException {
        if (!"classification".equals(metadata.task())) {
            throw new InvalidModelException("this runtime serves \"classification\" models, not \"" + metadata.task()
                    + "\"");
        }
        if (metadata.labels().isEmpty()) {
            throw new InvalidModelException("model.json has no labels; a classifier needs one per output column");
        }
        if (new HashSet<>(metadata.labels()).size() != metadata.labels().size()) {
            throw new InvalidModelException("model.json's labels " + metadata.labels() + " repeat a label; scores are"
                    + " reported per label, so each must be unique");
        }
        try {
            new InputDecoder(metadata.input());
        } catch (IllegalArgumentException e) {
            // A declared input too large for a tensor is the model's description at fault, not this runtime.
            throw new InvalidModelException("model.json's input cannot be served: " + e.getMessage());
        }
    }

    private Model loadTorchScript(String name, Path file) throws InvalidModelException {
        if (!Files.isRegularFile(file)) {
            throw new InvalidModelException("the TorchScript model file " + file.getFileName() + " is missing or is"
                    + " not a file");
        }
        Model model = PyTorchEngine.withPluginLoader(() -> engine.newModel(name, Device.cpu()));
        try {
            PyTorchEngine.withPluginLoader(() -> {
                model.load(file);
                return null;
            });
            return model;
        } catch (Exception | Error e) {
            model.close();
            // Raised for anything libtorch cannot read: random bytes, a truncated file, a pickled state_dict saved
            // with torch.save instead of torch.jit.save, a model made by a newer PyTorch.
            throw new InvalidModelException(file.getFileName() + " is not a loadable TorchScript model (save it with"
                    + " torch.jit.save of a scripted or traced module): " + DjlLoadedModel.engineMessage(e), e);
        }
    }

    private Model loadDjl(String name, Path artifact, ModelMetadata metadata) throws InvalidModelException {
        if (!Files.isDirectory(artifact)) {
            throw new InvalidModelException("a \"djl\" model is a .zip of a directory holding "
                    + MlpArchitecture.FILE_NAME + " and " + DJL_PARAMS_PREFIX + "-0000.params; got a single file");
        }
        Path dir = modelDirectory(artifact);
        MlpArchitecture architecture = MlpArchitecture.read(dir.resolve(MlpArchitecture.FILE_NAME));
        int expectedInputs = metadata.input() instanceof InputSpec.Image i
                ? i.channels() * i.height() * i.width()
                : ((InputSpec.Features) metadata.input()).size();
        if (architecture.inputSize() != expectedInputs) {
            throw new InvalidModelException(MlpArchitecture.FILE_NAME + " has input_size " + architecture.inputSize()
                    + " but model.json's input gives " + expectedInputs + " values per input");
        }
        if (architecture.classes() != metadata.labels().size()) {
            throw new InvalidModelException(MlpArchitecture.FILE_NAME + " has " + architecture.classes()
                    + " classes but model.json has " + metadata.labels().size() + " labels " + metadata.labels());
        }
        boolean hasParams = hasParams(dir);
        checkWeights(architecture, hasParams);
        Model model = PyTorchEngine.withPluginLoader(() -> engine.newModel(name, Device.cpu()));
        try {
            PyTorchEngine.withPluginLoader(() -> {
                setUpWeights(model, dir, architecture);
                return null;
            });
            return model;
        } catch (Exception | Error e) {
            model.close();
            throw new InvalidModelException("the parameters in " + dir.getFileName() + " do not fit the MLP that "
                    + MlpArchitecture.FILE_NAME + " describes: " + DjlLoadedModel.engineMessage(e), e);
        }
    }

    /**
     * A DJL model has its weights from exactly one place: a params file, or {@code "initialize"} for an untrained one.
     */
    static void checkWeights(MlpArchitecture architecture, boolean hasParams) throws InvalidModelException {
        if (!hasParams && !architecture.initializes()) {
            throw new InvalidModelException("no " + DJL_PARAMS_PREFIX + "-NNNN.params file next to "
                    + MlpArchitecture.FILE_NAME + " (an untrained model must say so in it: \"initialize\": {\"seed\": N})");
        }
        if (hasParams && architecture.initializes()) {
            throw new InvalidModelException(MlpArchitecture.FILE_NAME + " asks for fresh weights (\"initialize\") but "
                    + "there is a " + DJL_PARAMS_PREFIX + "-NNNN.params file too; remove \"initialize\" to use the file,"
                    + " or the file for an untrained model");
        }
    }

    /**
     * Sets the architecture's block on the model and gives it its weights: loaded from the params file (the highest
     * epoch, when a trainer left several checkpoints), or freshly initialised for an untrained model.
     */
    static void setUpWeights(Model model, Path dir, MlpArchitecture architecture) throws Exception {
        model.setBlock(architecture.newBlock());
        if (architecture.initializes()) {
            architecture.initialize(model);
        } else {
            model.load(dir, DJL_PARAMS_PREFIX);
        }
    }

    /** The directory with architecture.json: the artifact itself, or its only subdirectory (zip -r of a folder). */
    static Path modelDirectory(Path artifact) throws InvalidModelException {
        if (Files.isRegularFile(artifact.resolve(MlpArchitecture.FILE_NAME))) {
            return artifact;
        }
        try (Stream<Path> children = Files.list(artifact)) {
            List<Path> dirs = children.filter(Files::isDirectory).toList();
            if (dirs.size() == 1 && Files.isRegularFile(dirs.get(0).resolve(MlpArchitecture.FILE_NAME))) {
                return dirs.get(0);
            }
        } catch (IOException e) {
            throw new InvalidModelException("cannot list the model directory: " + e.getMessage(), e);
        }
        throw new InvalidModelException("the \"djl\" model has no " + MlpArchitecture.FILE_NAME
                + " at the top of its zip (or in its only folder)");
    }

    static boolean hasParams(Path dir) throws InvalidModelException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(p -> DJL_PARAMS.matcher(p.getFileName().toString()).matches());
        } catch (IOException e) {
            throw new InvalidModelException("cannot list the model directory: " + e.getMessage(), e);
        }
    }
}
