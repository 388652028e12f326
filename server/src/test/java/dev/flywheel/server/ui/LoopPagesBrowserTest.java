package dev.flywheel.server.ui;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;

/**
 * The loop's pages in a real browser against the real server: a reviewer works through the review queue with the
 * keyboard (and undoes a decision), then an engineer sees the numbers on the deployments and deployment pages,
 * changes a setting, turns the feedback loop on, sets reference data, and finds the model and dataset that were made.
 */
class LoopPagesBrowserTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;
    private static final List<String> LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");

    @TempDir
    Path dir;

    @Test
    void reviewWithTheKeyboardThenFollowTheLoopThroughDeploymentsModelsAndDatasets() {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir); var server = TestServer.start(db, dir);
                var browser = Browser.open(server.port())) {
            browser.diagnose("loop-pages", () -> run(server, browser));
        }
    }

    private static void run(TestServer server, Browser browser) {
        {
            Http http = server.http();
            String versionId = Fixtures.upload(http, ADMIN, "iris", Fixtures.FEATURES).path("id").asText();
            String dep = Fixtures.deploy(http, ADMIN, "iris-prod", versionId, null);
            int predictions = 0;
            for (JsonNode sample : Fixtures.featureSamples()) {
                for (int i = 0; i < 2; i++) {
                    predict(http, dep, "{\"features\":" + sample.path("features") + "}");
                    predictions++;
                }
            }
            // Between two classes, where the model is less sure.
            predict(http, dep, "{\"features\":[6.3,2.8,4.9,1.7]}");
            predict(http, dep, "{\"features\":[5.5,2.9,3.0,0.8]}");
            predictions += 2;
            int total = predictions;

            String imageVersion = Fixtures.upload(http, ADMIN, "colors", Fixtures.IMAGE).path("id").asText();
            String imageDep = Fixtures.deploy(http, ADMIN, "colors-prod", imageVersion, null);
            for (String file : List.of("red.png", "blue.png")) {
                var r = http.postBytes("/api/deployments/" + imageDep + "/predict", ADMIN, "image/png",
                        Fixtures.bytes(Fixtures.IMAGE, file));
                assertThat(r.status()).as(r.toString()).isEqualTo(200);
            }

            String dataset = Fixtures.createdId(http.post("/api/datasets", ADMIN,
                    "{\"name\":\"iris-feedback\",\"description\":\"Reviewed production traffic\"}"));
            String dv = Fixtures.createdId(http.post("/api/datasets/" + dataset + "/versions", ADMIN, "{\"name\":\"v1\"}"));
            assertThat(http.post("/api/deployments/" + dep + "/feedback-loop", ADMIN, "").status()).isEqualTo(201);
            assertThat(http.post("/api/deployments/" + dep + "/feedback-loop/dataset-versions", ADMIN,
                    "{\"dataset_version_id\":\"" + dv + "\"}").status()).isEqualTo(200);
            String reviewer = http.post("/api/tokens", ADMIN, "{\"name\":\"rita\",\"role\":\"reviewer\"}").json()
                    .path("secret").asText();
            String viewer = http.post("/api/tokens", ADMIN, "{\"name\":\"vic\",\"role\":\"viewer\"}").json()
                    .path("secret").asText();

            // A reviewer lands on Review, on the first deployment, and works with the keyboard.
            browser.go("/");
            browser.signIn(reviewer);
            browser.waitFor(By.cssSelector("#review-item[data-prediction]"));
            assertThat(browser.waitUntil("the model's labels", () -> labels(browser).size() == 3 ? labels(browser) : null))
                    .containsExactly("1 " + LABELS.get(0), "2 " + LABELS.get(1), "3 " + LABELS.get(2));
            browser.waitForText(By.cssSelector("#review-item table.features"), "Features (4)");

            Map<String, String[]> intended = new HashMap<>(); // prediction → {action, label}
            String accepted = current(browser);
            intended.put(accepted, new String[] {"accept", attr(browser, "data-label")});
            browser.press("a");
            String corrected = nextItem(browser, accepted);
            int n = LABELS.get(0).equals(attr(browser, "data-label")) ? 2 : 1;
            intended.put(corrected, new String[] {"correct", LABELS.get(n - 1)});
            browser.press(String.valueOf(n));
            String rejected = nextItem(browser, corrected);
            intended.put(rejected, new String[] {"reject", null});
            browser.press("r");
            String undone = nextItem(browser, rejected);
            browser.press("a");
            nextItem(browser, undone);
            browser.press("u");
            browser.waitUntil("undo goes back to the undone item",
                    () -> undone.equals(current(browser)) && attr(browser, "data-decision").isEmpty());
            browser.waitForText(By.cssSelector(".review-message"), "Undone");
            browser.screenshot("12-review");

            // Someone else reviews the next one before this reviewer's decision is sent: the page says so.
            browser.press(Keys.ARROW_RIGHT);
            String contested = nextItem(browser, undone);
            browser.press("a");
            var other = http.post("/api/predictions/" + contested + "/review", ADMIN, "{\"action\":\"reject\"}");
            assertThat(other.status()).as(other.toString()).isEqualTo(200);
            browser.waitUntil("the batch is sent", () -> "0".equals(count(browser, "unsent")) && "3".equals(count(browser, "sent")));
            browser.waitForText(By.cssSelector(".review-message"), "already reviewed by someone else");

            JsonNode reviewed = http.get("/api/deployments/" + dep + "/predictions?status=REVIEWED&limit=500", ADMIN).json();
            Map<String, JsonNode> byId = new HashMap<>();
            reviewed.path("items").forEach(p -> byId.put(p.path("id").asText(), p));
            assertThat(byId.keySet()).containsExactlyInAnyOrder(accepted, corrected, rejected, contested);
            intended.forEach((id, want) -> {
                JsonNode review = byId.get(id).path("review");
                assertThat(review.path("action").asText()).as(id).isEqualTo(want[0]);
                assertThat(review.path("label").isNull() ? null : review.path("label").asText()).as(id).isEqualTo(want[1]);
            });
            assertThat(byId.get(contested).path("review").path("action").asText()).isEqualTo("reject");
            assertThat(http.get("/api/predictions/" + undone, ADMIN).json().path("status").asText()).isEqualTo("TO_REVIEW");
            JsonNode stats = http.get("/api/deployments/" + dep + "/review-stats", ADMIN).json();
            browser.waitUntil("the counts follow", () -> String.valueOf(stats.path("to_review").asLong()).equals(count(browser, "to-review")));

            // A viewer sees the queue but cannot act on it.
            signOut(browser);
            browser.signIn(viewer);
            browser.go("/#/review");
            browser.waitFor(By.cssSelector("#review-item[data-prediction]"));
            assertThat(browser.all(By.cssSelector(".review-actions"))).isEmpty();
            assertThat(browser.all(By.cssSelector(".label-list button"))).isEmpty();
            String seen = current(browser);
            browser.press("a");
            browser.press("j");
            nextItem(browser, seen);
            assertThat(count(browser, "unsent")).isEqualTo("0");

            // An engineer: the deployments page shows the numbers the API gives.
            signOut(browser);
            browser.signIn(ADMIN);
            WebElement row = browser.waitFor(By.cssSelector("tr[data-deployment='" + dep + "']"));
            assertThat(row.getText()).contains("iris-prod").contains("iris v1");
            assertThat(cell(row, "predictions")).isEqualTo(String.valueOf(predictions));
            assertThat(cell(row, "to-review")).isEqualTo(String.valueOf(stats.path("to_review").asLong()));
            assertThat(cell(row, "anomalies")).isEqualTo(String.valueOf(stats.path("anomalies").asLong()));
            assertThat(cell(row, "loop")).contains("off");
            WebElement imageRow = browser.waitFor(By.cssSelector("tr[data-deployment='" + imageDep + "']"));
            assertThat(cell(imageRow, "predictions")).isEqualTo("2");
            assertThat(cell(imageRow, "loop")).contains("not set up");
            browser.screenshot("10-deployments");

            // The deployment's page: change a setting, turn the loop on, set the reference data.
            row.findElement(By.linkText("iris-prod")).click();
            assertThat(browser.waitFor(By.cssSelector("[data-primary] a")).getText()).isEqualTo("iris v1");
            assertThat(tile(browser, "predictions")).isEqualTo(String.valueOf(predictions));
            assertThat(tile(browser, "to-review")).isEqualTo(String.valueOf(stats.path("to_review").asLong()));
            assertThat(tile(browser, "reviewed")).isEqualTo("2");
            assertThat(browser.all(By.cssSelector("table.predictions-table tbody tr"))).hasSize(Math.min(25, predictions));

            WebElement threshold = browser.waitFor(By.id("review_confidence_threshold"));
            threshold.clear();
            threshold.sendKeys("0.75");
            new Select(browser.waitFor(By.id("capture_mode"))).selectByValue("async");
            browser.waitFor(By.cssSelector(".settings-form button[type=submit]")).click();
            browser.waitForText(By.cssSelector(".notice"), "Settings saved.");
            JsonNode settings = http.get("/api/deployments/" + dep, ADMIN).json().path("settings");
            assertThat(settings.path("review_confidence_threshold").asDouble()).isEqualTo(0.75);
            assertThat(settings.path("capture_mode").asText()).isEqualTo("async");

            browser.waitFor(By.cssSelector("[data-action=toggle-loop]")).click();
            browser.waitForText(By.cssSelector("[data-stat=submitted] .tile-value"), "2");
            assertThat(browser.waitFor(By.cssSelector("[data-panel=feedback-loop]")).getText()).contains("iris-feedback / v1");
            JsonNode submitted = http.get("/api/deployments/" + dep + "/predictions?status=SUBMITTED", ADMIN).json();
            assertThat(StreamSupport.stream(submitted.path("items").spliterator(), false).map(p -> p.path("id").asText()))
                    .containsExactlyInAnyOrder(accepted, corrected);
            assertThat(http.get("/api/dataset-versions/" + dv, ADMIN).json().path("item_count").asInt()).isEqualTo(2);

            new Select(browser.waitFor(By.id("reference-dv"))).selectByValue(dv);
            browser.waitFor(By.cssSelector("[data-panel=reference] button[type=submit]")).click();
            browser.waitForText(By.cssSelector("[data-reference]"), "iris-feedback / v1");
            assertThat(http.get("/api/deployments/" + dep, ADMIN).json().path("reference_dataset_version_id").asText())
                    .isEqualTo(dv);

            new Select(browser.waitFor(By.id("f-status"))).selectByValue("REVIEWED");
            browser.waitFor(By.cssSelector("form.filters button[type=submit]")).click();
            browser.waitUntil("only the reviewed predictions are listed",
                    () -> browser.all(By.cssSelector("table.predictions-table tbody tr")).size() == 2);
            assertThat(browser.waitFor(By.cssSelector("table.predictions-table")).getText()).contains("rejected");
            new Select(browser.waitFor(By.id("f-status"))).selectByValue("");
            browser.waitFor(By.cssSelector("form.filters button[type=submit]")).click();
            browser.waitUntil("all predictions are listed again",
                    () -> browser.all(By.cssSelector("table.predictions-table tbody tr")).size() == Math.min(25, total));
            browser.fullScreenshot("11-deployment-detail");

            // Models: the list, the model's versions, the version's metadata and lineage.
            browser.go("/#/models");
            browser.waitForText(By.cssSelector("table.models"), "colors");
            browser.waitFor(By.linkText("iris")).click();
            WebElement v1 = browser.waitFor(By.cssSelector("tr[data-version='" + versionId + "']"));
            assertThat(v1.getText()).contains("v1").contains("4 features").contains(String.join(", ", LABELS)).contains("iris-prod");
            v1.findElement(By.linkText("v1")).click();
            browser.waitForText(By.cssSelector("[data-panel=lineage]"), "uploaded by hand");
            assertThat(browser.waitFor(By.cssSelector("main#page")).getText()).contains("iris v1").contains("torchscript")
                    .contains("versicolor-like").contains("iris-prod (primary)");
            browser.fullScreenshot("13-models");

            // Datasets: the list, the versions with their counts, the items with their provenance.
            browser.go("/#/datasets");
            browser.waitFor(By.linkText("iris-feedback")).click();
            assertThat(browser.waitFor(By.cssSelector("tr[data-version='" + dv + "'] [data-col=items]")).getText()).isEqualTo("2");
            browser.waitFor(By.linkText("v1")).click();
            browser.waitUntil("the items", () -> browser.all(By.cssSelector("table.items tbody tr[data-item]")).size() == 2);
            String items = browser.waitFor(By.cssSelector("table.items")).getText();
            assertThat(items).contains(intended.get(accepted)[1]).contains(intended.get(corrected)[1]).contains("application/json");
            browser.waitFor(By.cssSelector("table.items tbody tr[data-item] button.link")).click();
            browser.waitForText(By.cssSelector("table.items tr.detail"), "Predicted");
            assertThat(browser.all(By.xpath("//button[contains(., 'Download export')]"))).hasSize(1);
            browser.fullScreenshot("14-datasets");

            // Review an image deployment: the input is fetched with the token and shown; the choice is remembered.
            browser.go("/#/review");
            new Select(browser.waitFor(By.id("review-deployment"))).selectByValue(imageDep);
            browser.waitUntil("the image is shown", () -> (Boolean) browser.script(
                    "const i = document.querySelector('img.review-image'); return !!i && i.complete && i.naturalWidth > 0;"));
            assertThat(labels(browser)).containsExactly("1 red", "2 blue");
            String flagged = current(browser);
            browser.press("f");
            browser.waitFor(By.id("flag-reason")).sendKeys("looks purple rather than blue", Keys.ENTER);
            browser.waitForText(By.cssSelector(".review-message"), "Flagged");
            browser.waitForText(By.cssSelector("#review-item .reasons"), "Flagged");
            assertThat(http.get("/api/predictions/" + flagged, ADMIN).json().path("flag").path("reason").asText())
                    .isEqualTo("looks purple rather than blue");
            browser.screenshot("15-review-image");
            browser.go("/#/deployments");
            browser.waitFor(By.cssSelector("tr[data-deployment]"));
            browser.go("/#/review");
            browser.waitUntil("the last deployment is remembered",
                    () -> imageDep.equals(browser.script("return document.getElementById('review-deployment')?.value")));
            browser.size(1024, 768);
            browser.waitFor(By.cssSelector("img.review-image"));
            browser.screenshot("16-review-1024");
            browser.go("/#/deployments/" + dep);
            browser.waitFor(By.cssSelector("[data-primary] a"));
            browser.fullScreenshot("17-deployment-detail-1024");
            browser.size(1366, 900);

            assertThat(browser.consoleErrors()).isEmpty();
        }
    }

    private static void predict(Http http, String dep, String body) {
        var r = http.post("/api/deployments/" + dep + "/predict", ADMIN, body);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }

    private static void signOut(Browser browser) {
        browser.waitFor(By.cssSelector(".who button")).click();
        browser.waitFor(By.id("token"));
    }

    private static String current(Browser browser) {
        return browser.waitFor(By.cssSelector("#review-item[data-prediction]")).getDomAttribute("data-prediction");
    }

    private static String attr(Browser browser, String name) {
        String v = browser.waitFor(By.cssSelector("#review-item[data-prediction]")).getDomAttribute(name);
        return v == null ? "" : v;
    }

    /** Waits until the page shows another item than that one; returns the new one. */
    private static String nextItem(Browser browser, String previous) {
        return browser.waitUntil("an item after " + previous, () -> {
            var items = browser.all(By.cssSelector("#review-item[data-prediction]"));
            String id = items.isEmpty() ? null : items.get(0).getDomAttribute("data-prediction");
            return id != null && !id.equals(previous) ? id : null;
        });
    }

    private static List<String> labels(Browser browser) {
        return browser.all(By.cssSelector(".label-list li")).stream()
                .map(li -> li.findElement(By.tagName("kbd")).getText() + " " + li.findElement(By.className("label-name")).getText())
                .toList();
    }

    private static String count(Browser browser, String key) {
        return browser.waitFor(By.cssSelector("[data-count=" + key + "] strong")).getText();
    }

    private static String cell(WebElement row, String col) {
        return row.findElement(By.cssSelector("[data-col=" + col + "]")).getText();
    }

    private static String tile(Browser browser, String key) {
        return browser.waitFor(By.cssSelector("[data-stat=" + key + "] .tile-value")).getText();
    }
}
