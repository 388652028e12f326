package dev.flywheel.testplugins;

import org.pf4j.Plugin;

/** A plugin that throws when started: the server must contain it. */
public class ExplodingPlugin extends Plugin {
    @Override
    public void start() {
        throw new IllegalStateException("boom: this plugin fails on purpose");
    }
}
