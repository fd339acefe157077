package io.sagaflow.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

class MetricNamesTest {

  @Test
  void aQueryNamesItsMetricsAsWrittenAndNotItsFunctionsLabelsOrVariables() {
    assertThat(
            MetricNames.inExpression(
                "histogram_quantile(0.99, sum by (le, participant) (rate("
                    + "sagaflow_step_attempt_duration_seconds_bucket{saga_type=~\"$saga_type\"}"
                    + "[$__rate_interval])))"))
        .containsExactly("sagaflow_step_attempt_duration_seconds_bucket");
    assertThat(
            MetricNames.inExpression(
                "max by (namespace, saga_type) (age) > on (namespace, saga_type)"
                    + " max by (namespace, saga_type) (deadline)"))
        .containsExactlyInAnyOrder("age", "deadline");
    assertThat(MetricNames.inExpression("sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) by (pod)"))
        .containsExactlyInAnyOrder("a_sum", "a_count");
  }

  @Test
  void keywordsNumbersDurationsStringsAndSubqueriesAreNotMetrics() {
    assertThat(
            MetricNames.inExpression(
                "min(deriv(lag[15m:1m])) > 0 and max(lag offset 5m) > 1e3"
                    + " unless bool other{job=\"a (b) {c}\", x='y'} * on() group_left(pod) Inf"))
        .containsExactlyInAnyOrder("lag", "other");
    assertThat(MetricNames.inExpression("topk(5, x) # the five largest\n")).containsExactly("x");
    assertThat(MetricNames.inExpression("sum(up{job=\"$job\"}) by (instance) > ${threshold}"))
        .containsExactly("up");
  }

  @Test
  void grafanaLabelValuesNamesItsMetricOnly() {
    assertThat(
            MetricNames.inExpression(
                "label_values(sagaflow_sagas_started_total{namespace=~\"$namespace\"}, saga_type)"))
        .containsExactly("sagaflow_sagas_started_total");
    assertThat(MetricNames.inExpression("label_values(namespace)")).isEmpty();
  }

  @Test
  void aNameIsExposedAsWrittenOrThroughItsFamily() {
    String scrape =
        String.join(
            "\n",
            "# HELP sagaflow_journal_write_seconds One batch write",
            "# TYPE sagaflow_journal_write_seconds histogram",
            "sagaflow_journal_write_seconds_bucket{le=\"0.005\"} 1",
            "sagaflow_journal_write_seconds_count 1",
            "sagaflow_sagas_started_total{saga_type=\"order\"} 3.0",
            "");
    Set<String> exposed = MetricNames.exposedIn(scrape);

    assertThat(exposed)
        .containsExactlyInAnyOrder(
            "sagaflow_journal_write_seconds",
            "sagaflow_journal_write_seconds_bucket",
            "sagaflow_journal_write_seconds_count",
            "sagaflow_sagas_started_total");
    assertThat(
            MetricNames.notExposed(
                Set.of(
                    "sagaflow_journal_write_seconds_bucket",
                    "sagaflow_journal_write_seconds_sum",
                    "sagaflow_sagas_started_total",
                    "sagaflow_sagas_started",
                    "sagaflow_index_lag_events"),
                exposed))
        .containsExactly("sagaflow_index_lag_events", "sagaflow_sagas_started");
  }
}
