package dev.flywheel.server.resilience;

import dev.flywheel.server.testing.TestDatabase;

class PostgresAdminLockoutTest extends AdminLockoutContract {
    @Override
    protected TestDatabase.Kind backend() {
        return TestDatabase.Kind.POSTGRES;
    }
}
