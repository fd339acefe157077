package io.sagaflow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MainTest {

  @Test
  void theUsageNamesTheJarAndBothCommands() {
    assertThat(Main.USAGE)
        .contains("java -jar sagaflow-bench.jar")
        .contains("bench ...")
        .contains("bench-waiting ...");
  }

  @Test
  void noCommandOrAnUnknownOneExitsWithTwo() {
    assertThat(Main.run(new String[0])).isEqualTo(2);
    assertThat(Main.run(new String[] {"node"})).isEqualTo(2);
  }

  @Test
  void helpExitsWithZero() {
    assertThat(Main.run(new String[] {"--help"})).isZero();
    assertThat(Main.run(new String[] {"bench", "--help"})).isZero();
    assertThat(Main.run(new String[] {"bench-waiting", "--help"})).isZero();
  }
}
