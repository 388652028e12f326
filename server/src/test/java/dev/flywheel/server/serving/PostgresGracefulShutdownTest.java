package dev.flywheel.server.serving;

import dev.flywheel.server.testing.TestDatabase;

class PostgresGracefulShutdownTest extends GracefulShutdownContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
