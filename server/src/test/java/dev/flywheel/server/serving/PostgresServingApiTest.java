package dev.flywheel.server.serving;

import dev.flywheel.server.testing.TestDatabase;

class PostgresServingApiTest extends ServingApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
