package dev.flywheel.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.http.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flywheel job run}: the training job wrapper. It talks to the server with the token scoped to its run,
 * lays out the training job contract in a work directory (the run's datasets as of its creation, the base model),
 * runs the trainer — the runtime's built-in one, or the user's command — with the contract's variables, and uploads
 * the model it made. What it and the trainer print is the run's console; the exit status says how it went.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs one training job. Reads FLYWHEEL_SERVER_URL, FLYWHEEL_RUN_ID and FLYWHEEL_RUN_TOKEN;",
            "FLYWHEEL_PLUGINS_DIR locates the model runtimes for the built-in trainer."})
public final class JobRunCommand implements Callable<Integer> {

    @Option(names = "--work-dir", description = "where to lay out the job (default: ./flywheel-job)")
    Path workDir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final PrintStream log = System.out;
    private String server;
    private String runId;
    private String token;
    private int trainerExit = 1;

    @Override
    public Integer call() throws Exception {
        server = env("FLYWHEEL_SERVER_URL").replaceAll("/+$", "");
        runId = env("FLYWHEEL_RUN_ID");
        token = env("FLYWHEEL_RUN_TOKEN");
        Path work = (workDir != null ? workDir : Path.of("flywheel-job")).toAbsolutePath();
        Files.createDirectories(work);
        JsonNode job = getJson("/api/training-runs/" + runId + "/job");
        log.println("[job] run " + job.path("run_name").asText() + " (" + runId + "), base version "
                + job.path("base_model_version_id").asText() + " (" + job.path("base_format").asText() + ")");

        var cancelled = new AtomicBoolean();
        ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "heartbeat");
            t.setDaemon(true);
            return t;
        });
        heartbeats.scheduleAtFixedRate(() -> heartbeat(cancelled), 0, 10, TimeUnit.SECONDS);
        try {
            Path dataset = Files.createDirectories(work.resolve("dataset"));
            Path base = Files.createDirectories(work.resolve("base"));
            Path output = Files.createDirectories(work.resolve("output"));
            int items = downloadDatasets(job, dataset);
            log.println("[job] dataset: " + items + " items from " + job.path("dataset_versions").size()
                    + " dataset version(s)");
            unzip(get("/api/training-runs/" + runId + "/base-model"), base);
            JsonNode trainer = job.path("trainer");
            Map<String, Object> params = Json.mapper().convertValue(trainer.path("params"), Map.class);
            Map<String, Double> metrics;
            if ("command".equals(trainer.path("type").asText())) {
                List<String> command = new ArrayList<>();
                trainer.path("command").forEach(c -> command.add(c.asText()));
                metrics = runCommand(command, work, dataset, base, output, params, job.path("run_name").asText(), cancelled);
                if (metrics == null) {
                    // The trainer's own status, so that the run's message says how the user's command ended.
                    return trainerExit;
                }
            } else {
                metrics = JobTrainer.train(dataset, base, output, params == null ? Map.of() : params,
                        job.path("base_format").asText(), pluginsDir(), log);
                if (!Files.exists(output.resolve("metrics.json"))) {
                    Files.writeString(output.resolve("metrics.json"), Json.write(metrics));
                }
            }
            if (cancelled.get()) {
                log.println("[job] the run was cancelled; not uploading");
                return 1;
            }
            return upload(output) ? 0 : 1;
        } finally {
            heartbeats.shutdownNow();
        }
    }

    private int downloadDatasets(JsonNode job, Path dataset) throws IOException, InterruptedException {
        Files.createDirectories(dataset.resolve("assets"));
        var manifest = new StringBuilder();
        Set<String> seen = new HashSet<>();
        int items = 0;
        for (JsonNode v : job.path("dataset_versions")) {
            String id = v.path("dataset_version_id").asText();
            Path part = Files.createTempDirectory(dataset.getParent(), "export-");
            unzip(get("/api/training-runs/" + runId + "/datasets/" + id + "/export"), part);
            for (String line : Files.readAllLines(part.resolve("manifest.jsonl"), StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode item = Json.mapper().readTree(line);
                // The same reviewed prediction can sit in several versions; train on it once.
                String key = item.has("prediction_id") ? "p:" + item.path("prediction_id").asText()
                        : "i:" + item.path("id").asText();
                if (!seen.add(key)) {
                    continue;
                }
                String asset = item.path("asset").asText();
                Files.move(part.resolve(asset), dataset.resolve(asset), StandardCopyOption.REPLACE_EXISTING);
                manifest.append(line).append('\n');
                items++;
            }
            deleteRecursively(part);
        }
        Files.writeString(dataset.resolve("manifest.jsonl"), manifest.toString());
        return items;
    }

    private Map<String, Double> runCommand(List<String> command, Path work, Path dataset, Path base, Path output,
            Map<String, Object> params, String runName, AtomicBoolean cancelled) throws IOException, InterruptedException {
        log.println("[job] running " + String.join(" ", command));
        var pb = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true);
        pb.environment().put("FLYWHEEL_DATASET_DIR", dataset.toString());
        pb.environment().put("FLYWHEEL_BASE_MODEL_DIR", base.toString());
        pb.environment().put("FLYWHEEL_OUTPUT_DIR", output.toString());
        pb.environment().put("FLYWHEEL_PARAMS", Json.write(params == null ? Map.of() : params));
        pb.environment().put("FLYWHEEL_RUN_ID", runId);
        pb.environment().put("FLYWHEEL_RUN_NAME", runName);
        // The trainer does not need the run's token: the wrapper does all the talking to the server.
        pb.environment().remove("FLYWHEEL_RUN_TOKEN");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            log.println("[job] cannot start the trainer command: " + e.getMessage());
            return null;
        }
        try (InputStream out = p.getInputStream()) {
            out.transferTo(log);
        }
        while (!p.waitFor(1, TimeUnit.SECONDS)) {
            if (cancelled.get()) {
                p.destroy();
            }
        }
        log.flush();
        if (p.exitValue() != 0) {
            log.println("[job] the trainer command exited with status " + p.exitValue());
            trainerExit = p.exitValue();
            return null;
        }
        Path metrics = output.resolve("metrics.json");
        var result = new LinkedHashMap<String, Double>();
        if (Files.exists(metrics)) {
            Json.readMap(Files.readString(metrics)).forEach((k, v) -> {
                if (v instanceof Number n) {
                    result.put(k, n.doubleValue());
                }
            });
        }
        return result;
    }

    private boolean upload(Path output) throws IOException, InterruptedException {
        Path metadata = output.resolve("model.json");
        if (!Files.isRegularFile(metadata)) {
            log.println("[job] the trainer wrote no model.json to FLYWHEEL_OUTPUT_DIR; nothing to register");
            return false;
        }
        Path artifact = artifact(output);
        if (artifact == null) {
            log.println("[job] the trainer wrote no model artifact (model.pt, or a DJL model directory) to "
                    + "FLYWHEEL_OUTPUT_DIR; nothing to register");
            return false;
        }
        Path metrics = output.resolve("metrics.json");
        String boundary = "----flywheel-job-" + System.nanoTime();
        var parts = new ArrayList<HttpRequest.BodyPublisher>();
        parts.add(text(boundary, "metadata", Files.readString(metadata)));
        if (Files.exists(metrics)) {
            parts.add(text(boundary, "metrics", Files.readString(metrics)));
        }
        parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "\r\nContent-Disposition: form-data; "
                + "name=\"file\"; filename=\"" + artifact.getFileName() + "\"\r\nContent-Type: application/octet-stream\r\n\r\n"));
        parts.add(HttpRequest.BodyPublishers.ofFile(artifact));
        parts.add(HttpRequest.BodyPublishers.ofString("\r\n--" + boundary + "--\r\n"));
        var request = request("/api/training-runs/" + runId + "/output")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.concat(parts.toArray(HttpRequest.BodyPublisher[]::new))).build();
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            log.println("[job] the server refused the model (" + r.statusCode() + "): " + message(r.body()));
            return false;
        }
        JsonNode v = Json.mapper().readTree(r.body());
        log.println("[job] registered version " + v.path("version").asInt() + " (" + v.path("id").asText() + ")");
        return true;
    }

    /**
     * The artifact to upload: {@code model.pt}, {@code model.zip}, a DJL model directory zipped now, or else the one
     * {@code model.<ext>} file of another runtime's format.
     */
    private static Path artifact(Path output) throws IOException {
        if (Files.isRegularFile(output.resolve("model.pt"))) {
            return output.resolve("model.pt");
        }
        if (Files.isRegularFile(output.resolve("model.zip"))) {
            return output.resolve("model.zip");
        }
        if (Files.isDirectory(output.resolve("model"))) {
            Path zip = output.resolve("model.zip");
            zipDirectory(output.resolve("model"), zip);
            return zip;
        }
        try (Stream<Path> files = Files.list(output)) {
            List<Path> others = files.filter(Files::isRegularFile).filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith("model.") && !n.equals("model.json");
            }).toList();
            return others.size() == 1 ? others.get(0) : null;
        }
    }

    private static HttpRequest.BodyPublisher text(String boundary, String name, String value) {
        return HttpRequest.BodyPublishers.ofString("--" + boundary + "\r\nContent-Disposition: form-data; name=\""
                + name + "\"\r\nContent-Type: application/json\r\n\r\n" + value + "\r\n");
    }

    private void heartbeat(AtomicBoolean cancelled) {
        try {
            HttpResponse<String> r = http.send(request("/api/training-runs/" + runId + "/heartbeat")
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 409) {
                cancelled.set(true);
            }
        } catch (IOException | InterruptedException e) {
            // A missed heartbeat is fine; the server only acts after minutes of silence.
        }
    }

    private Path pluginsDir() {
        String dir = System.getenv("FLYWHEEL_PLUGINS_DIR");
        if (dir == null || dir.isBlank()) {
            Path home = Launcher.home();
            return home == null ? Path.of("plugins") : home.resolve("plugins");
        }
        return Path.of(dir);
    }

    private JsonNode getJson(String path) throws IOException, InterruptedException {
        return Json.mapper().readTree(get(path));
    }

    private InputStream get(String path) throws IOException, InterruptedException {
        HttpResponse<InputStream> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            String body;
            try (InputStream in = r.body()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            throw new IOException("GET " + path + " answered " + r.statusCode() + ": " + message(body));
        }
        return r.body();
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(server + path)).timeout(Duration.ofMinutes(30))
                .header("Authorization", "Bearer " + token);
    }

    private static String message(String body) {
        try {
            JsonNode n = Json.mapper().readTree(body);
            return n.has("message") ? n.path("message").asText() : body;
        } catch (IOException e) {
            return body;
        }
    }

    private static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException(name + " is not set; flywheel job run is started by a provisioner, which "
                    + "sets it");
        }
        return v;
    }

    private static void unzip(InputStream in, Path target) throws IOException {
        try (var zip = new ZipInputStream(in)) {
            ZipEntry e;
            while ((e = zip.getNextEntry()) != null) {
                Path p = target.resolve(e.getName()).normalize();
                if (!p.startsWith(target)) {
                    throw new IOException("unsafe path in zip: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(p);
                } else {
                    Files.createDirectories(p.getParent());
                    Files.copy(zip, p, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void zipDirectory(Path dir, Path zipFile) throws IOException {
        try (var zip = new ZipOutputStream(Files.newOutputStream(zipFile)); Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                zip.putNextEntry(new ZipEntry(dir.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, zip);
                zip.closeEntry();
            }
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
