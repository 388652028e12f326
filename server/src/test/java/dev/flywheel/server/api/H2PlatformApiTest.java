package dev.flywheel.server.api;

import dev.flywheel.server.testing.TestDatabase;

class H2PlatformApiTest extends PlatformApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
