package dev.flywheel.server.promotion;

import dev.flywheel.server.testing.TestDatabase;

class H2PromotionGuardrailsTest extends PromotionGuardrailsContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.H2;
    }
}
