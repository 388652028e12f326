package dev.flywheel.server.ui;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * The UI's platform pages in a real browser against the real server: sign-in, plugins, tokens, events, and what a
 * lower role does not get to see.
 */
class PlatformPagesBrowserTest {

    @TempDir
    Path dir;

    @Test
    void signInManagePluginsTokensAndEventsAsAdminThenSeeLessAsReviewer() {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir); var server = TestServer.start(db, dir);
                var browser = Browser.open(server.port())) {
            browser.go("/");
            browser.waitFor(By.id("token"));
            browser.screenshot("01-sign-in");

            browser.waitFor(By.id("token")).sendKeys("fw_wrong-token-0123456789");
            browser.waitFor(By.cssSelector("form button[type=submit]")).click();
            browser.waitForText(By.cssSelector(".error"), "unknown, expired or revoked");

            browser.signIn(TestServer.ADMIN_TOKEN);
            browser.go("/#/plugins");
            WebElement plugin = browser.waitFor(By.cssSelector("article[data-plugin='trigger-review-threshold']"));
            assertThat(plugin.findElement(By.cssSelector(".state")).getText()).isEqualTo("started");
            assertThat(plugin.getText()).contains("review-threshold").contains("threshold").contains("1,000");
            assertThat(browser.all(By.cssSelector("article[data-plugin='runtime-djl']"))).hasSize(1);
            assertThat(navLinks(browser))
                    .containsExactly("Deployments", "Review", "Models", "Datasets", "Plugins", "Events", "Tokens");
            assertThat(browser.all(By.id("plugin-file"))).hasSize(1);
            browser.screenshot("02-plugins-admin");

            browser.go("/#/tokens");
            browser.waitFor(By.cssSelector("input[name=name]")).sendKeys("alice");
            browser.waitFor(By.cssSelector("select[name=role]")).sendKeys("reviewer");
            browser.waitFor(By.cssSelector("form.create-token button[type=submit]")).click();
            String secret = browser.waitFor(By.cssSelector(".secret-value")).getText();
            assertThat(secret).startsWith("fw_");
            browser.waitForText(By.cssSelector("table.tokens"), "alice");
            browser.screenshot("03-tokens");

            browser.go("/#/events");
            browser.waitFor(By.cssSelector("input[name=type]")).sendKeys("token.");
            browser.waitFor(By.cssSelector("form.filters button")).click();
            browser.waitForText(By.cssSelector("table.events"), "token 'alice' created with role reviewer");
            browser.waitFor(By.cssSelector("table.events tbody tr")).click();
            browser.waitForText(By.cssSelector("tr.detail"), "\"role\": \"reviewer\"");
            browser.screenshot("04-events");

            browser.waitFor(By.cssSelector(".who button")).click();
            browser.signIn(secret);
            browser.waitFor(By.cssSelector("a.active[href='#/review']"));
            browser.go("/#/plugins");
            browser.waitFor(By.cssSelector("article[data-plugin='trigger-review-threshold']"));
            assertThat(navLinks(browser)).containsExactly("Deployments", "Review", "Models", "Datasets", "Plugins", "Events");
            assertThat(browser.all(By.id("plugin-file"))).isEmpty();
            assertThat(browser.all(By.cssSelector("article.plugin .actions"))).isEmpty();
            browser.screenshot("05-plugins-reviewer");

            assertThat(browser.consoleErrors()).isEmpty();
        }
    }

    private static java.util.List<String> navLinks(Browser browser) {
        return browser.all(By.cssSelector("header.top nav a")).stream().map(WebElement::getText).toList();
    }
}
