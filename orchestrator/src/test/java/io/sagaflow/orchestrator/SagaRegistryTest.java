package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagaflow.orchestrator.SagaReplies.Problem;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SagaRegistryTest {
  record Order(String orderId, int quantity) {}

  private static final LocalCall<Object> NOOP =
      LocalCall.of(ctx -> CompletableFuture.completedFuture("ok"));

  private static SagaDefinition<?> order(int version) {
    return SagaDefinition.builder("order", Order.class)
        .version(version)
        .step(Step.named("reserve").invoke(NOOP).noCompensation())
        .build();
  }

  private final SagaRegistry registry = SagaRegistry.of(order(1), order(2));

  private static ObjectNode input() {
    return JsonNodeFactory.instance.objectNode().put("orderId", "o-1").put("quantity", 2);
  }

  @Test
  void acceptsARegisteredTypeWithAFittingInput() {
    assertThat(registry.checkStart("order", null, input())).isEmpty();
    assertThat(registry.checkStart("order", 1, input())).isEmpty();
  }

  @Test
  void namesTheRegisteredTypesForAnUnknownType() {
    assertThat(registry.checkStart("invoice", null, input()))
        .hasValueSatisfying(
            invalid -> {
              assertThat(invalid.problem()).isEqualTo(Problem.UNKNOWN_TYPE);
              assertThat(invalid.detail())
                  .isEqualTo("unknown saga type 'invoice'; registered types: [order]");
            });
  }

  @Test
  void namesTheRegisteredVersionsForAnUnknownVersion() {
    assertThat(registry.checkStart("order", 7, input()))
        .hasValueSatisfying(
            invalid -> {
              assertThat(invalid.problem()).isEqualTo(Problem.UNKNOWN_TYPE);
              assertThat(invalid.detail())
                  .isEqualTo("saga type 'order' has no version 7; registered versions: [1, 2]");
            });
  }

  @Test
  void namesTheFieldOfAnInputThatDoesNotFitWithoutJavaClassNames() {
    var wrong = input().put("quantity", "many");

    assertThat(registry.checkStart("order", null, wrong))
        .hasValueSatisfying(
            invalid -> {
              assertThat(invalid.problem()).isEqualTo(Problem.INVALID_INPUT);
              assertThat(invalid.detail())
                  .startsWith("input does not match Order at 'quantity'")
                  .doesNotContain("java.lang")
                  .doesNotContain("io.sagaflow");
            });
  }
}
