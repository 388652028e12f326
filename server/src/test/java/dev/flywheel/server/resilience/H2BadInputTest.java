package dev.flywheel.server.resilience;

import dev.flywheel.server.testing.TestDatabase;

class H2BadInputTest extends BadInputContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
