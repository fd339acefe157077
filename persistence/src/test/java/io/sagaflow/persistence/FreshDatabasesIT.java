package io.sagaflow.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.persistence.testing.TestDatabase;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class FreshDatabasesIT {

  @Test
  void freshDatabasesAreMigratedAndIsolatedEvenWhenCreatedConcurrently() {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<TestDatabase> databases =
          IntStream.range(0, 4)
              .mapToObj(i -> CompletableFuture.supplyAsync(TestDatabase::fresh, pool))
              .toList()
              .stream()
              .map(CompletableFuture::join)
              .toList();

      assertThat(databases).extracting(TestDatabase::name).doesNotHaveDuplicates();
      TestDatabase first = databases.get(0);
      first.execute("CREATE TABLE only_here (id int)");
      first.execute("INSERT INTO only_here VALUES (1), (2)");
      assertThat(first.count("SELECT count(*) FROM only_here")).isEqualTo(2);
      for (TestDatabase db : databases) {
        assertThat(db.count("SELECT count(*) FROM event_journal")).isZero();
        assertThat(db.settings().url()).isEqualTo(db.jdbcUrl());
      }
      assertThat(
              databases
                  .get(1)
                  .count(
                      "SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_here'"))
          .isZero();
      assertThat(first.scalar("SHOW fsync")).isEqualTo("off");
    } finally {
      pool.shutdownNow();
    }
  }
}
