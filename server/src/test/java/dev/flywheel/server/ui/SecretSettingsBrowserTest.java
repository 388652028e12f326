package dev.flywheel.server.ui;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import dev.flywheel.server.training.SecretSettingsFixture;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * Continuous training whose provisioner and trigger have secret settings, edited again in the UI: the secret fields
 * are empty, say a value is set, are not required, and saving the form without touching them keeps the secrets.
 */
class SecretSettingsBrowserTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;

    @TempDir
    Path dir;

    @Test
    void savingTheSettingsAgainKeepsTheSecrets() throws Exception {
        SecretSettingsFixture.installPlugin(dir.resolve("plugins"));
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir); var server = TestServer.start(db, dir);
                var browser = Browser.open(server.port())) {
            browser.diagnose("secret-settings", () -> run(server, db, browser));
        }
    }

    private static void run(TestServer server, TestDatabase db, Browser browser) {
        Http http = server.http();
        String version = Fixtures.upload(http, ADMIN, "secretive", Fixtures.FEATURES).path("id").asText();
        String dep = Fixtures.deploy(http, ADMIN, "secretive", version, null);
        var put = http.put("/api/deployments/" + dep + "/continuous-training", ADMIN, "{\"provisioner\": \"vault-test\","
                + " \"provisioner_config\": {\"api_key\": \"k-123\", \"region\": \"us\"}, \"triggers\": [{\"type\":"
                + " \"webhook-test\", \"config\": {\"token\": \"t-789\"}}]}");
        assertThat(put.status()).as(put.toString()).isEqualTo(200);

        browser.go("/");
        browser.signIn(ADMIN);
        browser.go("/#/deployments/" + dep);
        browser.waitFor(By.cssSelector("[data-panel=continuous-training] [data-action=edit-ct]")).click();

        WebElement apiKey = browser.waitFor(By.cssSelector("[data-provisioner-settings] input[name=api_key]"));
        assertThat(apiKey.getDomAttribute("type")).isEqualTo("password");
        assertThat(apiKey.getDomProperty("value")).isEmpty();
        assertThat(apiKey.getDomAttribute("placeholder")).isEqualTo("set; leave empty to keep it");
        assertThat(apiKey.getDomAttribute("required")).isNull();
        WebElement token = browser.waitFor(By.cssSelector("fieldset[data-trigger-type=webhook-test] input[name=token]"));
        assertThat(token.getDomProperty("value")).isEmpty();
        assertThat(token.getDomAttribute("placeholder")).isEqualTo("set; leave empty to keep it");
        assertThat(browser.driver().getPageSource()).doesNotContain("k-123").doesNotContain("t-789");

        WebElement region = browser.waitFor(By.cssSelector("[data-provisioner-settings] input[name=region]"));
        region.clear();
        region.sendKeys("ap");
        browser.fullScreenshot("60-secret-settings");
        browser.waitFor(By.cssSelector("form.ct-form button[type=submit]")).click();
        browser.waitForText(By.cssSelector("[data-panel=continuous-training] .notice"), "Continuous training saved.");

        JsonNode ct = http.get("/api/deployments/" + dep + "/continuous-training", ADMIN).json();
        assertThat(ct.at("/provisioner_config/region").asText()).isEqualTo("ap");
        assertThat(ct.at("/provisioner_config/api_key").asText()).isEqualTo("******");
        assertThat(ct.at("/triggers/0/config/token").asText()).isEqualTo("******");
        assertThat(SecretSettingsFixture.stored(db, dep)).contains("\"k-123\"").contains("\"t-789\"");
        assertThat(browser.consoleErrors()).isEmpty();
    }
}
