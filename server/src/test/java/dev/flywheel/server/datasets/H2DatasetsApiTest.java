package dev.flywheel.server.datasets;

import dev.flywheel.server.testing.TestDatabase;

class H2DatasetsApiTest extends DatasetsApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
