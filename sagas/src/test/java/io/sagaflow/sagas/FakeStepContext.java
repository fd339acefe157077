package io.sagaflow.sagas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.dsl.StepKey;
import java.util.Map;

/** A step context with a given input and earlier outputs, for building requests in tests. */
public record FakeStepContext(
    String sagaId,
    String step,
    JsonNode inputJson,
    Class<?> inputType,
    Map<String, JsonNode> outputs)
    implements StepContext<Object> {

  public static final ObjectMapper JSON = JsonMapper.builder().findAndAddModules().build();

  @Override
  public String sagaType() {
    return "test";
  }

  @Override
  public int attempt() {
    return 1;
  }

  @Override
  public Object input() {
    try {
      return JSON.treeToValue(inputJson, inputType);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public <O> O output(StepKey<O> key) {
    try {
      return JSON.readerFor(JSON.constructType(key.outputType())).readValue(output(key.name()));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public JsonNode output(String step) {
    JsonNode output = outputs.get(step);
    if (output == null) {
      throw new IllegalStateException("step '" + step + "' has no output");
    }
    return output;
  }
}
