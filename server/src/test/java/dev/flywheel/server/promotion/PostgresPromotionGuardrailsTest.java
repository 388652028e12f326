package dev.flywheel.server.promotion;

import dev.flywheel.server.testing.TestDatabase;

class PostgresPromotionGuardrailsTest extends PromotionGuardrailsContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
