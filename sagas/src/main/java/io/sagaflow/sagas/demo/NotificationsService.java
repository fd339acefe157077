package io.sagaflow.sagas.demo;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Messages to people: {@code POST /messages} sends one (202). Each idempotency key sends at most
 * one message; nothing is ever unsent.
 */
final class NotificationsService extends DemoService {

  static final String NAME = "notifications";

  NotificationsService() {
    super(NAME);
  }

  @Override
  List<Route> routes() {
    return List.of(Route.post("/messages", this::send));
  }

  private Reply send(Call call) {
    String reference = call.id("reference");
    String recipient = call.text("recipient", 100);
    String template = call.id("template");
    ObjectNode data = call.optionalObject("data");
    String messageId =
        "msg-" + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT);
    ledger.record(
        call,
        "send",
        reference,
        Ledger.Effect.APPLIED,
        object()
            .put("messageId", messageId)
            .put("recipient", recipient)
            .put("template", template)
            .put("dataFields", data.size()));
    return Reply.accepted(
        object().put("messageId", messageId).put("reference", reference).put("status", "SENT"));
  }
}
