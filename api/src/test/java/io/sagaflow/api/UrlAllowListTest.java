package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class UrlAllowListTest {
  private final UrlAllowList list =
      new UrlAllowList(List.of("https://hooks.example.com/sagaflow", "http://10.0.0.5:8080/"));

  @Test
  void allowsUrlsUnderAnEntryAtASegmentBoundary() {
    assertThat(list.refusal("https://hooks.example.com/sagaflow")).isEmpty();
    assertThat(list.refusal("https://hooks.example.com/sagaflow/orders?x=1")).isEmpty();
    assertThat(list.refusal("https://HOOKS.example.com:443/sagaflow/a")).isEmpty();
    assertThat(list.refusal("http://10.0.0.5:8080/anything")).isEmpty();
  }

  @Test
  void refusesOtherHostsPortsSchemesAndPathsNamingTheRule() {
    for (String url :
        List.of(
            "https://hooks.example.com/sagaflowx",
            "https://hooks.example.com/other",
            "https://hooks.example.com.evil.test/sagaflow",
            "http://hooks.example.com/sagaflow",
            "https://hooks.example.com:8443/sagaflow",
            "http://10.0.0.5/anything",
            "http://169.254.169.254/latest/meta-data")) {
      assertThat(list.refusal(url))
          .as(url)
          .hasValueSatisfying(r -> assertThat(r).contains("sagaflow.webhooks.allowed-urls"));
    }
  }

  @Test
  void refusesWhatIsNotAPlainHttpUrl() {
    for (String url :
        List.of(
            "ftp://hooks.example.com/sagaflow",
            "https://user:pw@hooks.example.com/sagaflow",
            "https://hooks.example.com/sagaflow/../admin",
            "/sagaflow",
            "not a url")) {
      assertThat(list.refusal(url)).as(url).isPresent();
    }
  }

  @Test
  void anEmptyListAllowsNothing() {
    assertThat(new UrlAllowList(List.of()).refusal("https://hooks.example.com/sagaflow"))
        .hasValueSatisfying(r -> assertThat(r).contains("empty"));
  }

  @Test
  void anEntryThatIsNoUrlIsRefusedAtStart() {
    assertThatThrownBy(() -> new UrlAllowList(List.of("hooks.example.com")))
        .hasMessageContaining("sagaflow.webhooks.allowed-urls");
  }
}
