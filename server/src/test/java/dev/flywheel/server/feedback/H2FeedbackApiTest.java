package dev.flywheel.server.feedback;

import dev.flywheel.server.testing.TestDatabase;

class H2FeedbackApiTest extends FeedbackApiContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
