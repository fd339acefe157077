package io.sagaflow.api;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.fasterxml.jackson.module.paramnames.ParameterNamesModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/** JSON for the API's unit tests: the mapper a node hands the API, and what a response says. */
final class ApiJson {
  private ApiJson() {}

  /** Set up as Pekko's {@code jackson-json} mapper is, without an actor system. */
  static ObjectMapper mapper() {
    return JsonMapper.builder()
        .addModules(new ParameterNamesModule(), new Jdk8Module(), new JavaTimeModule())
        .visibility(PropertyAccessor.FIELD, JsonAutoDetect.Visibility.ANY)
        .disable(
            SerializationFeature.WRITE_DATES_AS_TIMESTAMPS,
            SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS,
            SerializationFeature.FAIL_ON_EMPTY_BEANS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .build();
  }

  static JsonResponses responses() {
    return new JsonResponses(mapper());
  }

  /** The body of a response built in memory (always strict). */
  static String text(HttpResponse response) {
    return ((HttpEntity.Strict) response.entity()).getData().utf8String();
  }

  static JsonNode tree(HttpResponse response) {
    try {
      return mapper().readTree(text(response));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code json} without white space, its members in the order written: to compare with a body. */
  static String compact(String json) {
    try {
      ObjectMapper mapper = mapper();
      return mapper.writeValueAsString(mapper.readTree(json));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The header's value, or null when the response has none. */
  static String header(HttpResponse response, String name) {
    return response.getHeader(name).map(HttpHeader::value).orElse(null);
  }
}
