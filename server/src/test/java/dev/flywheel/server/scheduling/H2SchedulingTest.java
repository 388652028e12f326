package dev.flywheel.server.scheduling;

import dev.flywheel.server.testing.TestDatabase;

class H2SchedulingTest extends SchedulingContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
