package dev.flywheel.server.registry;

import dev.flywheel.server.testing.TestDatabase;

class H2RegistryApiTest extends RegistryApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
