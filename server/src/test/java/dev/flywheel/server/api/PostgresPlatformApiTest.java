package dev.flywheel.server.api;

import dev.flywheel.server.testing.TestDatabase;

class PostgresPlatformApiTest extends PlatformApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
