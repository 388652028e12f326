package dev.flywheel.server.demo;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The demo's terminal output: one line per event, stamped with the time since the demo began, and a block of progress
 * bars under them. On a terminal the bars are redrawn in place (ANSI cursor movement); elsewhere (CI logs, pipes) the
 * bars are printed as one plain line whenever they changed, at most every few seconds, so that logs stay readable.
 */
public final class Timeline {

    private static final String ESC = "\u001b[";

    private final PrintStream out;
    private final boolean live;
    private final long startNanos = System.nanoTime();
    private final Duration plainEvery;
    private final int columns;
    private List<String> bars = List.of();
    private final java.util.Map<String, List<String>> blocks = new java.util.LinkedHashMap<>();
    private int drawn;
    private long lastPlainNanos;
    private String lastPlain = "";

    /**
     * @param out where to write
     * @param live redraw the bars in place (only when {@code out} is a terminal)
     * @param plainEvery without {@code live}, how often at most the bars are printed
     */
    public Timeline(PrintStream out, boolean live, Duration plainEvery) {
        this.out = out;
        this.live = live;
        this.plainEvery = plainEvery;
        this.columns = live ? columns() : Integer.MAX_VALUE;
    }

    /** Whether bars are redrawn in place. */
    public boolean live() {
        return live;
    }

    /** Prints one line of the timeline. */
    public synchronized void line(String text) {
        erase();
        out.println(stamp() + " " + text);
        draw();
    }

    /** Prints text as it is, without a time stamp (headers, the summary). */
    public synchronized void text(String text) {
        erase();
        out.println(text);
        draw();
    }

    /**
     * Replaces one story's progress bars; the block under the timeline shows every story's bars, in the order the
     * stories first drew them.
     */
    public synchronized void bars(String story, List<String> lines) {
        blocks.put(story, List.copyOf(lines));
        bars(blocks.values().stream().flatMap(List::stream).toList());
    }

    /** Replaces the progress bars. */
    public synchronized void bars(List<String> lines) {
        if (live) {
            erase();
            bars = List.copyOf(lines);
            draw();
            return;
        }
        bars = List.copyOf(lines);
        String plain = String.join(" | ", lines.stream().map(String::strip).toList());
        long now = System.nanoTime();
        if (!plain.equals(lastPlain) && now - lastPlainNanos >= plainEvery.toNanos()) {
            out.println(stamp() + " " + plain);
            lastPlain = plain;
            lastPlainNanos = now;
        }
    }

    /** Leaves the bars as they are on the screen (live) or prints them one last time (plain). */
    public synchronized void finish() {
        blocks.clear();
        if (live) {
            drawn = 0;
            bars = List.of();
        } else if (!bars.isEmpty()) {
            String plain = String.join(" | ", bars.stream().map(String::strip).toList());
            if (!Objects.equals(plain, lastPlain)) {
                out.println(stamp() + " " + plain);
            }
            bars = List.of();
        }
        out.flush();
    }

    /** Seconds since the demo began, as {@code [mm:ss]}. */
    public String stamp() {
        long s = (System.nanoTime() - startNanos) / 1_000_000_000L;
        return String.format("[%02d:%02d]", s / 60, s % 60);
    }

    /** The time since the demo began. */
    public Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /**
     * A progress bar such as {@code [#######.............]}.
     *
     * @param done how far
     * @param total of how much; 0 or less draws an empty bar
     */
    public static String bar(double done, double total, int width) {
        int filled = total <= 0 ? 0 : (int) Math.round(Math.max(0, Math.min(1, done / total)) * width);
        return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "]";
    }

    /** The terminal's width: COLUMNS when exported, else what stty says, else 100. */
    private static int columns() {
        try {
            String env = System.getenv("COLUMNS");
            if (env != null && !env.isBlank()) {
                return Integer.parseInt(env.trim());
            }
            Process p = new ProcessBuilder("sh", "-c", "stty size < /dev/tty").redirectErrorStream(true).start();
            String[] size = new String(p.getInputStream().readAllBytes()).trim().split("\\s+");
            if (p.waitFor() == 0 && size.length == 2) {
                return Integer.parseInt(size[1]);
            }
        } catch (java.io.IOException | NumberFormatException e) {
            // No stty (Windows) or no terminal: the fallback below.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }

    private void erase() {
        if (live && drawn > 0) {
            // To the start of the first bar line, then clear to the end of the screen.
            out.print(ESC + drawn + "F" + ESC + "J");
            drawn = 0;
        }
    }

    private void draw() {
        if (live && !bars.isEmpty()) {
            for (String b : bars) {
                // A wrapped line would take two rows, and the redraw, which counts lines, would leave debris behind.
                out.println(b.length() < columns ? b : b.substring(0, Math.max(10, columns - 2)) + "…");
            }
            drawn = bars.size();
        }
        out.flush();
    }
}
