package dev.flywheel.server.ui;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;

/**
 * The loop from the UI alone: an admin creates a model, uploads a version (after a refused one, whose reason the
 * form shows), deploys it, creates a dataset and a version with labels and adds an item; a viewer sees none of
 * the forms.
 */
class CreatePagesBrowserTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;

    @TempDir
    Path dir;

    @Test
    void createAModelADeploymentAndADatasetFromTheUi() {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir); var server = TestServer.start(db, dir);
                var browser = Browser.open(server.port())) {
            browser.diagnose("create-pages", () -> run(server, browser));
        }
    }

    private static void run(TestServer server, Browser browser) {
        Http http = server.http();
        Path fixture = Fixtures.model(Fixtures.FEATURES).toAbsolutePath().normalize();

        browser.go("/");
        browser.signIn(ADMIN);

        // A model, from the Models page.
        browser.go("/#/models");
        open(browser, "model");
        type(browser, "model-name", "iris-ui");
        submit(browser, "model");
        browser.waitForText(By.cssSelector("#page h1"), "iris-ui");
        String modelId = browser.waitUntil("the model's page", () -> {
            String hash = (String) browser.script("return location.hash");
            return hash.matches("#/models/[^/]+") ? hash.substring("#/models/".length()) : null;
        });
        assertThat(http.get("/api/models/" + modelId, ADMIN).json().path("name").asText()).isEqualTo("iris-ui");

        // An upload whose model.json does not fit the model (two labels for three outputs): the server's reason shows.
        open(browser, "version");
        browser.waitFor(By.id("version-file")).sendKeys(fixture.resolve("model.pt").toString());
        type(browser, "version-metadata", """
                {"format": "torchscript", "task": "classification", "labels": ["a", "b"],
                 "input": {"kind": "features", "size": 4}, "output": "logits"}""");
        submit(browser, "version");
        WebElement refused = browser.waitFor(By.cssSelector("[data-form=version] [role=alert]"));
        assertThat(refused.getText()).startsWith("Error 400:");
        String reason = refused.getText().substring("Error 400:".length()).trim();
        assertThat(reason).contains("2 labels").contains("3 output columns");
        browser.screenshot("30-create-model-refused");
        assertThat(http.get("/api/models/" + modelId + "/versions", ADMIN).json().path("items")).isEmpty();

        // Then the fixture's own model.json: v1.
        browser.waitFor(By.id("version-file")).sendKeys(fixture.resolve("model.pt").toString());
        type(browser, "version-metadata", Fixtures.text(Fixtures.FEATURES, "model.json"));
        submit(browser, "version");
        browser.waitForText(By.cssSelector("[data-form=version] [role=status]"), "Uploaded v1");
        browser.waitFor(By.cssSelector("table.versions tr[data-version]"));
        JsonNode versions = http.get("/api/models/" + modelId + "/versions", ADMIN).json().path("items");
        assertThat(versions).hasSize(1);
        String versionId = versions.get(0).path("id").asText();
        assertThat(versions.get(0).path("metadata").path("labels")).hasSize(3);
        browser.fullScreenshot("30-create-model");

        // A deployment of it, from the Deployments page.
        browser.go("/#/deployments");
        open(browser, "deployment");
        type(browser, "deployment-name", "iris-ui-prod");
        browser.waitUntil("the version picker", () -> new Select(browser.waitFor(By.id("deployment-version")))
                .getOptions().stream().anyMatch(o -> versionId.equals(o.getDomAttribute("value"))));
        new Select(browser.waitFor(By.id("deployment-model"))).selectByVisibleText("iris-ui");
        browser.waitUntil("the version picker", () -> new Select(browser.waitFor(By.id("deployment-version")))
                .getOptions().stream().anyMatch(o -> versionId.equals(o.getDomAttribute("value"))));
        new Select(browser.waitFor(By.id("deployment-version"))).selectByValue(versionId);
        new Select(browser.waitFor(By.id("deployment-capture"))).selectByValue("async");
        browser.screenshot("31-create-deployment");
        submit(browser, "deployment");
        String deploymentId = browser.waitUntil("the deployment's page", () -> {
            String hash = (String) browser.script("return location.hash");
            return hash.matches("#/deployments/[^/]+") ? hash.substring("#/deployments/".length()) : null;
        });
        browser.waitFor(By.cssSelector("[data-primary] a"));
        JsonNode deployment = http.get("/api/deployments/" + deploymentId, ADMIN).json();
        assertThat(deployment.path("name").asText()).isEqualTo("iris-ui-prod");
        assertThat(deployment.path("primary_model_version_id").asText()).isEqualTo(versionId);
        assertThat(deployment.path("settings").path("capture_mode").asText()).isEqualTo("async");

        // A dataset, a version with labels and a features item, from the Datasets pages.
        browser.go("/#/datasets");
        open(browser, "dataset");
        type(browser, "dataset-name", "iris-ui-data");
        type(browser, "dataset-description", "Labelled by hand");
        submit(browser, "dataset");
        String datasetId = browser.waitUntil("the dataset's page", () -> {
            String hash = (String) browser.script("return location.hash");
            return hash.matches("#/datasets/[^/]+") ? hash.substring("#/datasets/".length()) : null;
        });
        browser.waitForText(By.cssSelector("#page h1"), "iris-ui-data");
        assertThat(http.get("/api/datasets/" + datasetId, ADMIN).json().path("description").asText())
                .isEqualTo("Labelled by hand");

        open(browser, "version");
        type(browser, "dv-name", "v1");
        type(browser, "dv-fraction", "0.25");
        type(browser, "dv-labels", "setosa-like\nversicolor-like\nvirginica-like\n");
        submit(browser, "version");
        String dvId = browser.waitUntil("the dataset version's page", () -> {
            String hash = (String) browser.script("return location.hash");
            String prefix = "#/datasets/" + datasetId + "/";
            return hash.startsWith(prefix) ? hash.substring(prefix.length()) : null;
        });
        JsonNode dv = http.get("/api/dataset-versions/" + dvId, ADMIN).json();
        assertThat(dv.path("name").asText()).isEqualTo("v1");
        assertThat(dv.path("labels").toString()).isEqualTo("[\"setosa-like\",\"versicolor-like\",\"virginica-like\"]");
        assertThat(dv.path("validation_fraction").asDouble()).isEqualTo(0.25);

        open(browser, "item");
        type(browser, "item-features", "not, numbers");
        submit(browser, "item");
        browser.waitForText(By.cssSelector("[data-form=item] [role=alert]"), "Features must be numbers");
        type(browser, "item-features", "5.1, 3.5, 1.4, 0.2");
        new Select(browser.waitFor(By.id("item-label"))).selectByValue("setosa-like");
        new Select(browser.waitFor(By.id("item-split"))).selectByValue("train");
        submit(browser, "item");
        browser.waitForText(By.cssSelector("[data-form=item] [role=status]"), "Added item 1 (setosa-like, train)");
        browser.waitForText(By.cssSelector("[data-stat=items] .tile-value"), "1");
        browser.waitFor(By.cssSelector("table.items tr[data-item]"));
        JsonNode items = http.get("/api/dataset-versions/" + dvId + "/items", ADMIN).json().path("items");
        assertThat(items).hasSize(1);
        assertThat(items.get(0).path("label").asText()).isEqualTo("setosa-like");
        assertThat(items.get(0).path("split").asText()).isEqualTo("train");
        browser.fullScreenshot("32-create-dataset");

        // An image item goes as multipart (file, label, split).
        browser.waitFor(By.cssSelector("[data-form=item] input[name=kind][value=image]")).click();
        browser.waitFor(By.id("item-file")).sendKeys(
                Fixtures.model(Fixtures.IMAGE).resolve("red.png").toAbsolutePath().normalize().toString());
        new Select(browser.waitFor(By.id("item-label"))).selectByValue("virginica-like");
        new Select(browser.waitFor(By.id("item-split"))).selectByValue("validation");
        submit(browser, "item");
        browser.waitForText(By.cssSelector("[data-form=item] [role=status]"), "Added item 2 (virginica-like, validation)");
        JsonNode image = http.get("/api/dataset-versions/" + dvId + "/items?label=virginica-like", ADMIN).json().path("items");
        assertThat(image).hasSize(1);
        assertThat(image.get(0).path("content_type").asText()).isEqualTo("image/png");
        assertThat(image.get(0).path("split").asText()).isEqualTo("validation");
        assertThat(browser.consoleErrors()).isEmpty();

        // A viewer sees the same pages without the forms.
        String viewer = http.post("/api/tokens", ADMIN, "{\"name\":\"vic\",\"role\":\"viewer\"}").json().path("secret").asText();
        browser.waitFor(By.cssSelector(".who button")).click();
        browser.signIn(viewer);
        for (String page : new String[] {"/#/models", "/#/models/" + modelId, "/#/deployments", "/#/datasets",
                "/#/datasets/" + datasetId, "/#/datasets/" + datasetId + "/" + dvId}) {
            browser.go(page);
            browser.waitFor(By.cssSelector("#page h1"));
            browser.waitUntil("the page has loaded", () -> browser.all(By.cssSelector("#page .loading")).isEmpty());
            assertThat(browser.all(By.cssSelector(".create-form"))).as(page).isEmpty();
        }
        assertThat(browser.consoleErrors()).isEmpty();
    }

    /** Opens a "New …" form's disclosure. */
    private static void open(Browser browser, String form) {
        WebElement details = browser.waitFor(By.cssSelector("details[data-form=" + form + "]"));
        if (details.getDomAttribute("open") == null) {
            details.findElement(By.tagName("summary")).click();
        }
        browser.waitUntil("the form opens", () -> details.getDomAttribute("open") != null);
    }

    private static void type(Browser browser, String id, String text) {
        WebElement field = browser.waitFor(By.id(id));
        field.clear();
        field.sendKeys(text);
    }

    private static void submit(Browser browser, String form) {
        browser.waitFor(By.cssSelector("[data-form=" + form + "] button[type=submit]")).click();
    }
}
