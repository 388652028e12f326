package dev.flywheel.server.ui;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import java.util.logging.Level;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven by its ChromeDriver (nothing is downloaded). Screenshots go to
 * {@code target/screenshots} for people to look at.
 */
final class Browser implements AutoCloseable {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target", "screenshots");

    private final ChromeDriver driver;
    private final String base;
    private final Path profile;

    private Browser(ChromeDriver driver, String base, Path profile) {
        this.driver = driver;
        this.base = base;
        this.profile = profile;
    }

    /** A browser for the server on that port; skips the test without Chromium, except under CI where it fails. */
    static Browser open(int port) {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            String msg = "Chromium and ChromeDriver are needed: apt-get install chromium chromium-driver";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException(msg);
            }
            Assumptions.abort(msg);
        }
        Path profile;
        try {
            profile = Files.createTempDirectory("flywheel-chromium");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // The machine has no outside network: background networking only produces refused connections.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1366,900");
        var logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        var service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        var driver = new ChromeDriver(service, options);
        driver.manage().window().setSize(new Dimension(1366, 900));
        return new Browser(driver, "http://127.0.0.1:" + port, profile);
    }

    void go(String path) {
        driver.get(base + path);
    }

    WebElement waitFor(By by) {
        return new WebDriverWait(driver, Duration.ofSeconds(20)).until(ExpectedConditions.visibilityOfElementLocated(by));
    }

    void waitForText(By by, String text) {
        new WebDriverWait(driver, Duration.ofSeconds(20)).until(ExpectedConditions.textToBePresentInElementLocated(by, text));
    }

    /** Waits until the condition holds (is true, or not null), then returns what it returned. */
    <T> T waitUntil(String what, Supplier<T> condition) {
        return new WebDriverWait(driver, Duration.ofSeconds(20)).withMessage(what).until(d -> {
            T value = condition.get();
            return Boolean.FALSE.equals(value) ? null : value;
        });
    }

    /** Like {@link #waitUntil(String, Supplier)}, for conditions that take longer (a training run). */
    <T> T waitUntil(String what, Duration timeout, Supplier<T> condition) {
        return new WebDriverWait(driver, timeout).withMessage(what).until(d -> {
            T value = condition.get();
            return Boolean.FALSE.equals(value) ? null : value;
        });
    }

    /** Signs in on the sign-in page with that token and waits for the signed-in navigation. */
    void signIn(String token) {
        WebElement field = waitFor(By.id("token"));
        field.clear();
        field.sendKeys(token);
        waitFor(By.cssSelector("form button[type=submit]")).click();
        waitFor(By.cssSelector("header.top nav"));
    }

    /** Types keys into whatever has the focus, as a person at the keyboard does. */
    void press(CharSequence... keys) {
        new Actions(driver).sendKeys(keys).perform();
    }

    /** Sets the window's size (the screenshots' size). */
    void size(int width, int height) {
        driver.manage().window().setSize(new Dimension(width, height));
    }

    /** A screenshot of the whole page, however long: the window grows to fit it, then comes back. */
    void fullScreenshot(String name) {
        Dimension before = driver.manage().window().getSize();
        Number height = (Number) driver.executeScript("return document.documentElement.scrollHeight");
        int chrome = before.getHeight() - ((Number) driver.executeScript("return window.innerHeight")).intValue();
        driver.manage().window().setSize(new Dimension(before.getWidth(), Math.max(before.getHeight(), height.intValue() + chrome)));
        try {
            screenshot(name);
        } finally {
            driver.manage().window().setSize(before);
        }
    }

    List<WebElement> all(By by) {
        return driver.findElements(by);
    }

    ChromeDriver driver() {
        return driver;
    }

    /** Saves a screenshot as target/screenshots/{name}.png. */
    void screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            File shot = driver.getScreenshotAs(OutputType.FILE);
            Files.copy(shot.toPath(), SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Console errors the page logged (uncaught exceptions, failed module loads), except expected API answers. */
    List<String> consoleErrors() {
        return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
                .map(LogEntry::getMessage)
                .filter(m -> !m.matches(".*/api/.* - Failed to load resource: the server responded with a status of (4\\d\\d).*"))
                .toList();
    }

    /** Runs a step; when it fails, saves a screenshot and adds the page's console to the failure. */
    void diagnose(String name, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException | AssertionError e) {
            try {
                screenshot(name + "-failed");
                e.addSuppressed(new AssertionError("browser console: " + driver.manage().logs().get(LogType.BROWSER)
                        .getAll().stream().map(LogEntry::getMessage).toList()));
            } catch (RuntimeException ignored) {
                // the browser itself may be gone
            }
            throw e;
        }
    }

    Object script(String js, Object... args) {
        return driver.executeScript(js, args);
    }

    @Override
    public void close() {
        driver.quit();
        try (var files = Files.walk(profile)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temporary profile is harmless
        }
    }
}
