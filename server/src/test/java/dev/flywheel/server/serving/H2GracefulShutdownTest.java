package dev.flywheel.server.serving;

import dev.flywheel.server.testing.TestDatabase;

class H2GracefulShutdownTest extends GracefulShutdownContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
