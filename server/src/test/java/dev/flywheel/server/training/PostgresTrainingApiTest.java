package dev.flywheel.server.training;

import dev.flywheel.server.testing.TestDatabase;

class PostgresTrainingApiTest extends TrainingApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
