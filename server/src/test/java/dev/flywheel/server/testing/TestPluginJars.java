package dev.flywheel.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Builds plugin jars inside a test, for extension points that no real plugin covers yet and for plugins that are
 * broken on purpose. The jars are real PF4J plugins: a manifest, the classes, and {@code META-INF/extensions.idx}.
 */
public final class TestPluginJars {

    private TestPluginJars() {}

    /**
     * Writes a plugin jar.
     *
     * @param target the jar file to write
     * @param id Plugin-Id
     * @param version Plugin-Version
     * @param requires Plugin-Requires, or {@code null}
     * @param pluginClass Plugin-Class, or {@code null}
     * @param classes the classes to put in (compiled test classes, read from the test classpath)
     * @param extensions the extension classes to list in the index
     */
    public static Path build(Path target, String id, String version, String requires, Class<?> pluginClass,
            List<Class<?>> classes, List<Class<?>> extensions) {
        return build(target, id, version, requires, pluginClass, classes, extensions, 0);
    }

    /** The same, with a resource of {@code paddingBytes} random bytes, for uploads larger than ordinary bodies. */
    public static Path build(Path target, String id, String version, String requires, Class<?> pluginClass,
            List<Class<?>> classes, List<Class<?>> extensions, int paddingBytes) {
        var manifest = new Manifest();
        Attributes a = manifest.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Plugin-Id", id);
        a.putValue("Plugin-Version", version);
        if (requires != null) {
            a.putValue("Plugin-Requires", requires);
        }
        if (pluginClass != null) {
            a.putValue("Plugin-Class", pluginClass.getName());
        }
        try (OutputStream out = Files.newOutputStream(target); var jar = new JarOutputStream(out, manifest)) {
            for (Class<?> c : classes) {
                String name = c.getName().replace('.', '/') + ".class";
                jar.putNextEntry(new JarEntry(name));
                try (InputStream in = c.getClassLoader().getResourceAsStream(name)) {
                    in.transferTo(jar);
                }
                jar.closeEntry();
            }
            if (paddingBytes > 0) {
                byte[] padding = new byte[paddingBytes];
                new java.util.Random(paddingBytes).nextBytes(padding);
                jar.putNextEntry(new JarEntry("padding.bin"));
                jar.write(padding);
                jar.closeEntry();
            }
            jar.putNextEntry(new JarEntry("META-INF/extensions.idx"));
            for (Class<?> e : extensions) {
                jar.write((e.getName() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            jar.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return target;
    }

    /** Reads a jar into memory, for uploads. */
    public static byte[] bytes(Path jar) {
        try {
            return Files.readAllBytes(jar);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
