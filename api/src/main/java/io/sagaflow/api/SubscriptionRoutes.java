package io.sagaflow.api;

import io.sagaflow.persistence.webhooks.SubscriptionStore;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * What {@code /v1/subscriptions} does (its route table is in {@link SagaRoutes}): create, list,
 * read and delete webhook subscriptions, and resume a parked one from its offset. A secret is shown
 * once, in the answer to the creation.
 */
final class SubscriptionRoutes extends AllDirectives {
  private final SubscriptionStore store;
  private final UrlAllowList allowList;
  private final JsonResponses responses;
  private final StrictJsonBody jsonBody;
  private final Executor blocking;

  SubscriptionRoutes(
      SubscriptionStore store,
      UrlAllowList allowList,
      JsonResponses responses,
      StrictJsonBody jsonBody,
      Executor blocking) {
    this.store = store;
    this.allowList = allowList;
    this.responses = responses;
    this.jsonBody = jsonBody;
    this.blocking = blocking;
  }

  Route create() {
    return jsonBody.read(
        true,
        body -> {
          SubscriptionRequest request;
          try {
            request = SubscriptionRequest.parse(body, allowList);
          } catch (InvalidRequest e) {
            return complete(responses.problem(e.problem()));
          }
          return completeWithFuture(
              blocking(
                  () -> {
                    var created =
                        store.create(
                            UUID.randomUUID().toString(),
                            request.url(),
                            request.events(),
                            request.secret());
                    return responses
                        .ok(201, SubscriptionBody.created(created))
                        .addHeader(Location.create("/v1/subscriptions/" + created.id()));
                  }));
        });
  }

  Route list() {
    return completeWithFuture(
        blocking(
            () ->
                responses.ok(
                    200,
                    new SubscriptionBody.Page(
                        store.list().stream().map(SubscriptionBody::of).toList()))));
  }

  Route read(String id) {
    return completeWithFuture(
        blocking(
            () ->
                store
                    .find(id)
                    .map(s -> responses.ok(200, SubscriptionBody.of(s)))
                    .orElseGet(() -> notFound(id))));
  }

  Route delete(String id) {
    return completeWithFuture(
        blocking(() -> store.delete(id) ? HttpResponse.create().withStatus(204) : notFound(id)));
  }

  /** Active again, from its stored offset: the event it was parked at is delivered first. */
  Route resume(String id) {
    return completeWithFuture(
        blocking(
            () ->
                store.resume(id)
                    ? store
                        .find(id)
                        .map(s -> responses.ok(200, SubscriptionBody.of(s)))
                        .orElseGet(() -> notFound(id))
                    : notFound(id)));
  }

  private HttpResponse notFound(String id) {
    return responses.problem(Problem.notFound("no subscription '" + Problem.clip(id) + "'"));
  }

  private <T> CompletionStage<T> blocking(Supplier<T> work) {
    return CompletableFuture.supplyAsync(work, blocking);
  }
}
