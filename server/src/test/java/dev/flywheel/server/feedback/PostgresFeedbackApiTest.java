package dev.flywheel.server.feedback;

import dev.flywheel.server.testing.TestDatabase;

class PostgresFeedbackApiTest extends FeedbackApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
