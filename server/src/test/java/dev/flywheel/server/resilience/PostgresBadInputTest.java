package dev.flywheel.server.resilience;

import dev.flywheel.server.testing.TestDatabase;

class PostgresBadInputTest extends BadInputContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
