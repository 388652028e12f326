package dev.flywheel.server.ui;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;

/**
 * The rest of the loop in a real browser against the real server: an engineer sets up continuous training through
 * the forms rendered from the trigger and provisioner schemas, starts a run and watches its console stream, runs the
 * result as the shadow, reads the live comparison, promotes it and rolls back through the confirmation dialogs; the
 * plugins page previews each extension's form; a viewer sees the panels read-only.
 */
class TrainingPagesBrowserTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;
    private static final Duration RUN = Duration.ofSeconds(120);
    /** What the user types as the command trainer's command line. */
    private static final String COMMAND_LINE = "/bin/sh -c \"echo step 1; sleep 2; echo step 2; "
            + "cp \\\"$FLYWHEEL_BASE_MODEL_DIR\\\"/model.* \\\"$FLYWHEEL_OUTPUT_DIR/\\\"\"";
    /** The arguments that command line is. */
    private static final List<String> COMMAND = List.of("/bin/sh", "-c",
            "echo step 1; sleep 2; echo step 2; cp \"$FLYWHEEL_BASE_MODEL_DIR\"/model.* \"$FLYWHEEL_OUTPUT_DIR/\"");

    @TempDir
    Path dir;

    @Test
    void setUpTrainingWatchARunCompareThenPromoteAndRollBack() {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir);
                var server = TestServer.start(db, dir, s -> s.withIntervals(Duration.ofSeconds(1), Duration.ofMillis(500)));
                var browser = Browser.open(server.port())) {
            browser.diagnose("training-pages", () -> run(server, browser));
        }
    }

    private static void run(TestServer server, Browser browser) {
        Http http = server.http();
        String v1 = Fixtures.upload(http, ADMIN, "iris", Fixtures.FEATURES).path("id").asText();
        String dep = Fixtures.deploy(http, ADMIN, "iris-prod", v1, null);
        String dataset = Fixtures.createdId(http.post("/api/datasets", ADMIN, "{\"name\":\"iris-feedback\"}"));
        String dv = Fixtures.createdId(http.post("/api/datasets/" + dataset + "/versions", ADMIN, "{\"name\":\"v1\"}"));
        assertThat(http.post("/api/deployments/" + dep + "/feedback-loop", ADMIN, "").status()).isEqualTo(201);
        assertThat(http.post("/api/deployments/" + dep + "/feedback-loop/dataset-versions", ADMIN,
                "{\"dataset_version_id\":\"" + dv + "\"}").status()).isEqualTo(200);
        assertThat(http.put("/api/deployments/" + dep + "/feedback-loop/active", ADMIN, "{\"active\":true}").status())
                .isEqualTo(200);
        for (int i = 0; i < 2; i++) {
            for (JsonNode sample : Fixtures.featureSamples()) {
                review(http, predict(http, dep, sample), sample);
            }
        }
        String viewer = http.post("/api/tokens", ADMIN, "{\"name\":\"vic\",\"role\":\"viewer\"}").json().path("secret").asText();

        // Continuous training through the schema-rendered forms.
        browser.go("/");
        browser.signIn(ADMIN);
        browser.go("/#/deployments/" + dep);
        browser.waitFor(By.cssSelector("[data-panel=continuous-training] [data-action=edit-ct]")).click();
        WebElement threshold = browser.waitFor(By.cssSelector("fieldset[data-trigger-type=review-threshold] input[name=threshold]"));
        assertThat(threshold.getDomAttribute("placeholder")).isEqualTo("default: 1000");
        threshold.sendKeys("500");
        new Select(browser.waitFor(By.id("ct-add-trigger"))).selectByValue("drift");
        browser.waitFor(By.cssSelector("[data-action=add-trigger]")).click();
        browser.waitFor(By.cssSelector("fieldset[data-trigger-type=drift] input[name=window_size]")).sendKeys("300");
        // A trigger added by mistake and removed again.
        new Select(browser.waitFor(By.id("ct-add-trigger"))).selectByValue("schedule");
        browser.waitFor(By.cssSelector("[data-action=add-trigger]")).click();
        browser.waitFor(By.cssSelector("fieldset[data-trigger-type=schedule] input[name=cron]"));
        browser.waitFor(By.cssSelector("fieldset[data-trigger-type=schedule] [data-action=remove-trigger]")).click();
        browser.waitUntil("the schedule trigger is removed",
                () -> browser.all(By.cssSelector("fieldset[data-trigger-type=schedule]")).isEmpty());
        assertThat(browser.waitFor(By.cssSelector("fieldset[data-trigger-type=drift] input[name=window_size]"))
                .getDomProperty("value")).isEqualTo("300");
        WebElement name = browser.waitFor(By.id("ct-experiment"));
        name.clear();
        name.sendKeys("ui-retrain-{n}");
        browser.waitFor(By.id("ct-cooldown")).sendKeys("1m");
        browser.waitFor(By.cssSelector("input[name=trainer][value=command]")).click();
        browser.waitFor(By.id("ct-command")).sendKeys(COMMAND_LINE);
        browser.waitFor(By.id("ct-active")).click();
        browser.fullScreenshot("20-continuous-training");
        browser.waitFor(By.cssSelector("form.ct-form button[type=submit]")).click();
        browser.waitForText(By.cssSelector("[data-panel=continuous-training] .notice"), "Continuous training saved.");

        JsonNode ct = http.get("/api/deployments/" + dep + "/continuous-training", ADMIN).json();
        assertThat(ct.path("experiment_name").asText()).isEqualTo("ui-retrain-{n}");
        assertThat(ct.path("active").asBoolean()).isTrue();
        assertThat(ct.path("cooldown").asText()).isEqualTo("PT1M");
        assertThat(ct.path("provisioner").asText()).isEqualTo("local");
        assertThat(ct.at("/triggers/0/type").asText()).isEqualTo("review-threshold");
        assertThat(ct.at("/triggers/0/config/threshold").asInt()).isEqualTo(500);
        assertThat(ct.at("/triggers/1/type").asText()).isEqualTo("drift");
        assertThat(ct.at("/triggers/1/config/window_size").asInt()).isEqualTo(300);
        assertThat(ct.at("/triggers/1/config/min_window").asInt()).isEqualTo(200);
        assertThat(ct.path("triggers")).hasSize(2);
        assertThat(ct.at("/trainer/type").asText()).isEqualTo("command");
        assertThat(StreamSupport.stream(ct.at("/trainer/command").spliterator(), false).map(JsonNode::asText).toList())
                .isEqualTo(COMMAND);
        long reviewed = ct.path("reviewed_since_last_run").asLong();
        assertThat(reviewed).isPositive();
        browser.waitForText(By.cssSelector("[data-panel=continuous-training] [data-reviewed]"), reviewed + " / 500 reviewed");
        // Active triggers are evaluated each second; their decisions show with their reasons.
        browser.waitUntil("both triggers' last decisions", () -> browser.all(
                By.cssSelector("[data-panel=continuous-training] .trigger-item details summary")).size() == 2);
        browser.fullScreenshot("20b-continuous-training-saved");

        // Start a run and watch its console.
        browser.waitFor(By.cssSelector("[data-panel=continuous-training] [data-action=start-run]")).click();
        String runId = browser.waitUntil("the run's page", () -> {
            String url = browser.driver().getCurrentUrl();
            return url.contains("#/runs/") ? url.substring(url.indexOf("#/runs/") + 7) : null;
        });
        browser.waitForText(By.cssSelector("h1"), "ui-retrain-1");
        String statusAtStep1 = browser.waitUntil("step 1 in the console", RUN,
                () -> logText(browser).contains("step 1") ? runStatus(browser) : null);
        assertThat(statusAtStep1).isIn("QUEUED", "PROVISIONING", "RUNNING");
        browser.waitUntil("step 2 in the console", RUN, () -> logText(browser).contains("step 2"));
        browser.waitUntil("the run succeeds", RUN, () -> "SUCCEEDED".equals(runStatus(browser)));
        assertThat(logText(browser).indexOf("step 1")).isLessThan(logText(browser).indexOf("step 2"));
        JsonNode run = http.get("/api/training-runs/" + runId, ADMIN).json();
        assertThat(run.path("status").asText()).isEqualTo("SUCCEEDED");
        String v2 = run.path("result_model_version_id").asText();
        assertThat(v2).isNotBlank();
        browser.waitForText(By.cssSelector("[data-result]"), "iris v2");
        assertThat(browser.waitFor(By.cssSelector("[data-base]")).getText()).isEqualTo("iris v1");
        assertThat(browser.waitFor(By.cssSelector("[data-panel=run-lineage]")).getText()).contains("iris-feedback / v1");
        assertThat(browser.all(By.cssSelector("[data-action=cancel-run]"))).isEmpty();
        browser.fullScreenshot("22-run-log");

        // A second run from the history, cancelled while in flight.
        browser.go("/#/deployments/" + dep + "/runs");
        browser.waitFor(By.cssSelector("tr[data-run='" + runId + "']"));
        browser.waitFor(By.cssSelector("[data-action=start-run]")).click();
        browser.waitForText(By.cssSelector("h1"), "ui-retrain-2");
        String cancelled = browser.driver().getCurrentUrl().replaceAll(".*#/runs/", "");
        browser.waitFor(By.cssSelector("[data-action=cancel-run]")).click();
        browser.waitUntil("the run is cancelled", RUN, () -> "CANCELLED".equals(runStatus(browser)));
        assertThat(http.get("/api/training-runs/" + cancelled, ADMIN).json().path("status").asText()).isEqualTo("CANCELLED");

        browser.go("/#/deployments/" + dep + "/runs");
        WebElement row = browser.waitFor(By.cssSelector("tr[data-run='" + runId + "']"));
        assertThat(row.getText()).contains("ui-retrain-1").contains("manual");
        assertThat(row.findElement(By.cssSelector("[data-status]")).getDomAttribute("data-status")).isEqualTo("SUCCEEDED");
        assertThat(browser.waitFor(By.cssSelector("tr[data-run='" + cancelled + "'] [data-status]")).getDomAttribute("data-status"))
                .isEqualTo("CANCELLED");
        browser.screenshot("21-run-history");

        // The new version as the shadow, and the live comparison.
        browser.go("/#/deployments/" + dep);
        new Select(browser.waitFor(By.id("shadow-version"))).selectByValue(v2);
        browser.waitFor(By.cssSelector(".shadow-form button[type=submit]")).click();
        browser.waitForText(By.cssSelector("[data-panel=shadow] .notice"), "Shadow set");
        assertThat(http.get("/api/deployments/" + dep, ADMIN).json().path("shadow_model_version_id").asText()).isEqualTo(v2);
        List<String> paired = new ArrayList<>();
        List<JsonNode> samples = new ArrayList<>();
        for (JsonNode sample : Fixtures.featureSamples()) {
            paired.add(predict(http, dep, sample));
            samples.add(sample);
        }
        int n = paired.size();
        browser.waitUntil("the shadow answered every input", RUN, () -> http.get("/api/deployments/" + dep + "/comparison",
                ADMIN).json().at("/overall/compared").asInt() == n);
        for (int i = 0; i < n; i++) {
            review(http, paired.get(i), samples.get(i));
        }
        new Select(browser.waitFor(By.id("cmp-bucket"))).selectByValue("1m");
        browser.waitUntil("the page shows the comparison", RUN,
                () -> String.valueOf(n).equals(tileValue(browser, "compared")) && String.valueOf(n).equals(tileValue(browser, "paired")));
        JsonNode comparison = http.get("/api/deployments/" + dep + "/comparison", ADMIN).json();
        assertThat(tileValue(browser, "agreement")).isEqualTo("100%");
        assertThat(comparison.at("/overall/paired_reviewed").asInt()).isEqualTo(n);
        assertThat(browser.waitFor(By.cssSelector("table.compare [data-row=accuracy]")).getText())
                .matches("(?s).*\\d+(\\.\\d)?% .*\\d+(\\.\\d)?%–\\d+(\\.\\d)?%.*");
        browser.waitUntil("the promotion threshold on the chart",
                () -> !browser.all(By.cssSelector("figure.chart svg line.target")).isEmpty());
        // Latency as served is told apart from the like-for-like measurement, which the promoter makes when it decides.
        assertThat(browser.waitFor(By.cssSelector("table.compare [data-row=p95]")).getText()).contains("as served");
        browser.waitUntil("the passes timed back to back", () -> browser.waitFor(By.cssSelector(
                "table.compare [data-row=pass]")).getText().matches("(?s)Forward pass, back to back.*ms.*ms.*×.*pairs.*"));
        assertThat(browser.waitFor(By.cssSelector("[data-notes]")).getText()).contains("Timed back to back on the same");
        browser.fullScreenshot("23-comparison");

        // Promote and roll back through the dialogs.
        browser.waitFor(By.cssSelector("[data-action=promote]")).click();
        browser.waitFor(By.cssSelector("dialog[open] button[value=confirm]")).click();
        browser.waitForText(By.cssSelector("[data-panel=shadow] .notice"), "Promoted");
        assertThat(http.get("/api/deployments/" + dep, ADMIN).json().path("primary_model_version_id").asText()).isEqualTo(v2);
        browser.waitForText(By.cssSelector("[data-primary-version]"), "iris v2");
        browser.waitUntil("rollback is offered",
                () -> browser.waitFor(By.cssSelector("[data-action=rollback]")).isEnabled());
        browser.waitFor(By.cssSelector("[data-action=rollback]")).click();
        browser.waitFor(By.cssSelector("dialog[open] button[value=confirm]")).click();
        browser.waitForText(By.cssSelector("[data-panel=shadow] .notice"), "Rolled back");
        assertThat(http.get("/api/deployments/" + dep, ADMIN).json().path("primary_model_version_id").asText()).isEqualTo(v1);
        browser.waitForText(By.cssSelector("[data-primary-version]"), "iris v1");

        // Continuous deployment through the promoter's schema form, deciding about the shadow set again.
        new Select(browser.waitFor(By.id("shadow-version"))).selectByValue(v2);
        browser.waitFor(By.cssSelector(".shadow-form button[type=submit]")).click();
        browser.waitForText(By.cssSelector("[data-panel=shadow] .notice"), "Shadow set");
        browser.waitFor(By.cssSelector("[data-panel=continuous-deployment] [data-action=edit-cd]")).click();
        browser.waitFor(By.cssSelector("[data-promoter-settings] input[name=min_samples]")).sendKeys("50");
        new Select(browser.waitFor(By.cssSelector("[data-promoter-settings] select[name=threshold_mode]"))).selectByValue("relative");
        browser.waitFor(By.cssSelector("[data-rollback-settings] input[name=bake_period]")).sendKeys("30m");
        browser.waitFor(By.cssSelector("form.cd-form button[type=submit]")).click();
        browser.waitForText(By.cssSelector("[data-panel=continuous-deployment] .notice"), "Continuous deployment saved.");
        JsonNode cd = http.get("/api/deployments/" + dep + "/continuous-deployment", ADMIN).json();
        assertThat(cd.path("policy").asText()).isEqualTo("shadow");
        assertThat(cd.path("promoter").asText()).isEqualTo("paired");
        assertThat(cd.at("/settings/min_samples").asInt()).isEqualTo(50);
        assertThat(cd.at("/settings/threshold_mode").asText()).isEqualTo("relative");
        assertThat(cd.at("/rollback/bake_period").asText()).isEqualTo("PT30M");
        assertThat(cd.at("/rollback/max_accuracy_drop").asDouble()).isEqualTo(0.05);
        assertThat(browser.waitFor(By.cssSelector("[data-panel=continuous-deployment] .facts")).getText())
                .contains("Automatic rollback").contains("30m");
        assertThat(browser.waitFor(By.cssSelector("[data-panel=continuous-deployment]")).getText())
                .contains("No automatic promotion yet.");
        browser.waitFor(By.cssSelector("[data-action=toggle-cd]")).click();
        browser.waitForText(By.cssSelector("[data-panel=continuous-deployment] .notice"), "turned on");
        browser.waitFor(By.cssSelector("[data-panel=continuous-deployment] [data-decision]"));
        browser.size(1024, 768);
        browser.fullScreenshot("25-deployment-loop-1024");
        browser.size(1366, 900);

        // Plugins: each extension's form, previewed.
        browser.go("/#/plugins");
        WebElement drift = browser.waitFor(By.cssSelector("article[data-plugin='trigger-drift'] details[data-try=drift]"));
        drift.findElement(By.tagName("summary")).click();
        drift.findElement(By.cssSelector("input[name=window_size]")).sendKeys("600");
        drift.findElement(By.cssSelector("button[type=submit]")).click();
        browser.waitForText(By.cssSelector("details[data-try=drift] pre.try-result"), "\"window_size\": 600");
        WebElement local = browser.waitFor(By.cssSelector("article[data-plugin='provisioner-local'] details[data-try=local]"));
        local.findElement(By.tagName("summary")).click();
        local.findElement(By.cssSelector("textarea[name=gpu_types]")).sendKeys("A10G=A10\nH100=H100 80GB");
        local.findElement(By.cssSelector("button[type=submit]")).click();
        browser.waitForText(By.cssSelector("details[data-try=local] pre.try-result"), "\"H100\": \"H100 80GB\"");
        browser.script("document.querySelector('details[data-try=local]').scrollIntoView({block: 'center'})");
        browser.screenshot("24-plugins-forms");

        // A viewer sees it all, and changes nothing.
        assertThat(browser.consoleErrors()).isEmpty();
        browser.waitFor(By.cssSelector(".who button")).click();
        browser.signIn(viewer);
        browser.go("/#/deployments/" + dep);
        browser.waitForText(By.cssSelector("[data-panel=continuous-training] [data-reviewed]"), "/ 500 reviewed");
        browser.waitFor(By.cssSelector("[data-panel=shadow] [data-comparison]"));
        assertThat(browser.all(By.cssSelector("[data-action=edit-ct], [data-action=start-run], [data-action=promote], "
                + "[data-action=rollback], [data-action=edit-cd], #shadow-version"))).isEmpty();
        browser.go("/#/runs/" + runId);
        browser.waitForText(By.cssSelector("#run-log"), "step 2");
        assertThat(browser.all(By.cssSelector("[data-action=cancel-run]"))).isEmpty();
        assertThat(browser.consoleErrors()).isEmpty();
    }

    private static String predict(Http http, String dep, JsonNode sample) {
        var r = http.post("/api/deployments/" + dep + "/predict", ADMIN, "{\"features\":" + sample.path("features") + "}");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return r.json().path("prediction_id").asText();
    }

    private static void review(Http http, String prediction, JsonNode sample) {
        String predicted = http.get("/api/predictions/" + prediction, ADMIN).json().path("label").asText();
        String label = sample.path("label").asText();
        var r = http.post("/api/predictions/" + prediction + "/review", ADMIN, predicted.equals(label)
                ? "{\"action\":\"accept\"}" : "{\"action\":\"correct\",\"label\":\"" + label + "\"}");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }

    private static String logText(Browser browser) {
        var logs = browser.all(By.id("run-log"));
        return logs.isEmpty() ? "" : logs.get(0).getText();
    }

    private static String runStatus(Browser browser) {
        var badges = browser.all(By.cssSelector("[data-run-status] [data-status]"));
        return badges.isEmpty() ? null : badges.get(0).getDomAttribute("data-status");
    }

    private static String tileValue(Browser browser, String key) {
        var tiles = browser.all(By.cssSelector("[data-panel=shadow] [data-stat=" + key + "] .tile-value"));
        return tiles.isEmpty() ? null : tiles.get(0).getText();
    }
}
