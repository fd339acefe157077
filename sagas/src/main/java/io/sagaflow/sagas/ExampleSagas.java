package io.sagaflow.sagas;

import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.sagas.offsite.TeamOffsiteSaga;
import io.sagaflow.sagas.order.OrderFulfillmentSaga;
import io.sagaflow.sagas.trip.TripBookingSaga;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Stream;

/** The example sagas this application registers. */
public final class ExampleSagas {

  private ExampleSagas() {}

  public static List<SagaDefinition<?>> all() {
    return List.of(
        OrderFulfillmentSaga.definition(),
        TripBookingSaga.definition(),
        TeamOffsiteSaga.definition());
  }

  /** The names of the HTTP participants the given sagas call, actions and compensations alike. */
  public static SortedSet<String> participants(List<? extends SagaDefinition<?>> definitions) {
    var names = new TreeSet<String>();
    for (SagaDefinition<?> definition : definitions) {
      for (Step step : definition.steps()) {
        Stream.concat(Stream.of(step.action()), step.compensation().stream())
            .filter(HttpCall.class::isInstance)
            .map(action -> ((HttpCall<?>) action).participant())
            .forEach(names::add);
      }
    }
    return names;
  }
}
