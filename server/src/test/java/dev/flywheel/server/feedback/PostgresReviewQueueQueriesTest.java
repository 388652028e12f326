package dev.flywheel.server.feedback;

import dev.flywheel.server.testing.TestDatabase;

class PostgresReviewQueueQueriesTest extends ReviewQueueQueriesContract {
    @Override
    TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
