package dev.flywheel.server.feedback;

import dev.flywheel.server.testing.TestDatabase;

class H2ReviewQueueQueriesTest extends ReviewQueueQueriesContract {
    @Override
    TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
