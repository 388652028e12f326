package dev.flywheel.server.training;

import dev.flywheel.server.testing.TestDatabase;

class H2TrainingApiTest extends TrainingApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
