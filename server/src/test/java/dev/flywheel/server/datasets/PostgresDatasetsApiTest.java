package dev.flywheel.server.datasets;

import dev.flywheel.server.testing.TestDatabase;

class PostgresDatasetsApiTest extends DatasetsApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
