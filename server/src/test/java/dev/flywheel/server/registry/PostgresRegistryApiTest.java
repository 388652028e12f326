package dev.flywheel.server.registry;

import dev.flywheel.server.testing.TestDatabase;

class PostgresRegistryApiTest extends RegistryApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
