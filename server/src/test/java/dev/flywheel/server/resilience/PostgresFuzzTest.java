package dev.flywheel.server.resilience;

import dev.flywheel.server.testing.TestDatabase;

class PostgresFuzzTest extends FuzzContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
