package dev.flywheel.server.shadow;

import dev.flywheel.server.testing.TestDatabase;

class PostgresShadowApiTest extends ShadowApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
