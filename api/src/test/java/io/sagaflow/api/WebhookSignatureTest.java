package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WebhookSignatureTest {

  @Test
  void signsTheStandardWebhooksReferenceVector() {
    // The test vector of the Standard Webhooks reference implementations: a receiver's library
    // accepts what this signs.
    assertThat(
            WebhookSignature.sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  }

  @Test
  void aNewSecretIsValidAndDifferentEachTime() {
    String one = WebhookSignature.newSecret();
    assertThat(WebhookSignature.valid(one)).isTrue();
    assertThat(WebhookSignature.newSecret()).isNotEqualTo(one);
  }

  @Test
  void refusesSecretsWithoutThePrefixOrWithAShortOrUnreadableKey() {
    assertThat(WebhookSignature.valid("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).isFalse();
    assertThat(WebhookSignature.valid("whsec_c2hvcnQ=")).isFalse();
    assertThat(WebhookSignature.valid("whsec_not base64!")).isFalse();
  }
}
