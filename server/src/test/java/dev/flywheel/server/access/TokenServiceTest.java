package dev.flywheel.server.access;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.server.events.EventService;
import dev.flywheel.server.events.EventStore;
import dev.flywheel.server.persistence.Database;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.statement.SqlLogger;
import org.jdbi.v3.core.statement.StatementContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Token checks against the real schema, with the one interleaving that once let a revoked token keep working. */
class TokenServiceTest {

    @TempDir
    Path dir;

    private Database db;
    private TokenService tokens;

    @BeforeEach
    void open() {
        db = Database.open(Database.h2FileUrl(dir.resolve("db")), null, null);
        var meters = new SimpleMeterRegistry();
        tokens = new TokenService(new TokenStore(db.jdbi()),
                new EventService(new EventStore(db.jdbi()), Clock.systemUTC(), meters), Clock.systemUTC());
    }

    @AfterEach
    void close() {
        db.close();
    }

    @Test
    void aCheckThatReadTheTokenJustBeforeItWasRevokedDoesNotKeepItWorking() throws Exception {
        TokenService.Created admin = tokens.create("admin", Role.ADMIN, null, null, null, null);
        TokenService.Created other = tokens.create("other", Role.ADMIN, null, null, null, null);

        // The check reads the row, then stalls before caching it, while the revocation commits and clears the cache.
        var read = new CountDownLatch(1);
        var revoked = new CountDownLatch(1);
        Thread checker = Thread.currentThread();
        db.jdbi().setSqlLogger(new SqlLogger() {
            @Override
            public void logAfterExecution(StatementContext context) {
                if (context.getRawSql().contains("secret_hash = :hash") && Thread.currentThread() != checker) {
                    read.countDown();
                    await(revoked);
                }
            }
        });
        var check = CompletableFuture.supplyAsync(() -> tokens.authenticate(other.secret()));
        await(read);
        tokens.revoke(other.token().id(), new Principal(admin.token()));
        revoked.countDown();
        assertThat(check.get(30, TimeUnit.SECONDS)).as("the check that began before the revocation").isPresent();
        db.jdbi().setSqlLogger(SqlLogger.NOP_SQL_LOGGER);

        assertThat(tokens.authenticate(other.secret())).as("the revoked token, checked again at once").isEmpty();
        assertThat(tokens.authenticate(admin.secret())).isPresent();
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(30, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
