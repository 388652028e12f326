package dev.flywheel.server.shadow;

import dev.flywheel.server.testing.TestDatabase;

class H2ShadowApiTest extends ShadowApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
