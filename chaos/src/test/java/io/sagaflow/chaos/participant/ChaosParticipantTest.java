package io.sagaflow.chaos.participant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.sagaflow.chaos.ChaosParticipant;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.chaos.format.LedgerEntry.Call;
import io.sagaflow.chaos.format.LedgerEntry.Effect;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChaosParticipantTest {
  @TempDir Path dir;

  private ChaosParticipant start(String mix) {
    return ChaosParticipant.start(
        ParticipantOptions.of(7, dir.resolve("ledger.jsonl")).withMix(FaultMix.parse(mix)));
  }

  private List<LedgerEntry> ledger() {
    return Jsonl.read(dir.resolve("ledger.jsonl"), LedgerEntry.class);
  }

  @Test
  void aRepeatedKeyIsAnsweredAsTheFirstTimeAndAppliesNothing() {
    try (var p = start("none")) {
      Calls.Reply first = Calls.forward(p.port(), "s-1", "alpha", "reserve");
      Calls.Reply second = Calls.forward(p.port(), "s-1", "alpha", "reserve");
      assertThat(first.status()).isEqualTo(200);
      assertThat(second).isEqualTo(first);
    }
    assertThat(ledger())
        .extracting(LedgerEntry::delivery, LedgerEntry::effect, LedgerEntry::http)
        .containsExactly(tuple(1, Effect.APPLIED, 200), tuple(2, Effect.DEDUPLICATED, 200));
    LedgerEntry e = ledger().get(0);
    assertThat(e.sagaId()).isEqualTo("s-1");
    assertThat(e.step()).isEqualTo("reserve");
    assertThat(e.call()).isEqualTo(Call.FORWARD);
    assertThat(e.key()).isEqualTo("s-1/reserve");
    assertThat(e.fault()).isEqualTo("none");
    assertThat(e.received()).isLessThanOrEqualTo(e.t());
  }

  @Test
  void eachDeliveryRecordsTheAttemptItCarried() {
    try (var p = start("none")) {
      Calls.forward(p.port(), "s-1", "alpha", "reserve", 1);
      Calls.forward(p.port(), "s-1", "alpha", "reserve", 3);
      Calls.forward(p.port(), "s-2", "alpha", "reserve");
    }
    assertThat(ledger())
        .extracting(LedgerEntry::key, LedgerEntry::delivery, LedgerEntry::attempt)
        .containsExactly(
            tuple("s-1/reserve", 1, 1), tuple("s-1/reserve", 2, 3), tuple("s-2/reserve", 1, null));
  }

  @Test
  void aCompensationUndoesTheStepAndRefusesItsLateForwardCall() {
    try (var p = start("none")) {
      Calls.forward(p.port(), "s/with/slashes", "beta", "charge");
      assertThat(Calls.undo(p.port(), "s/with/slashes", "beta", "charge").status()).isEqualTo(200);
      assertThat(Calls.forward(p.port(), "s/with/slashes", "beta", "charge").status())
          .isEqualTo(409);
      assertThat(Calls.undo(p.port(), "never-applied", "alpha", "reserve").status()).isEqualTo(200);
    }
    assertThat(ledger())
        .extracting(LedgerEntry::sagaId, LedgerEntry::effect)
        .containsExactly(
            tuple("s/with/slashes", Effect.APPLIED),
            tuple("s/with/slashes", Effect.UNDONE),
            tuple("s/with/slashes", Effect.REFUSED_AFTER_COMPENSATION),
            tuple("never-applied", Effect.NOOP));
  }

  @Test
  void aStormAnswers503ToEveryCallAndShowsInTheStats() {
    try (var p = start("none")) {
      assertThat(Calls.postControl(p.port(), "/control/storm?seconds=60").status()).isEqualTo(200);
      assertThat(Calls.forward(p.port(), "s-2", "gamma", "confirm").status()).isEqualTo(503);
      Calls.Reply stats = Calls.get(p.port(), "/control/stats");
      assertThat(stats.body())
          .contains("\"deliveries\":1", "\"ERROR\":1", "\"APPLIED\":0", "\"active\":true");
      assertThat(Calls.postControl(p.port(), "/control/storm?seconds=0").status()).isEqualTo(200);
      assertThat(Calls.forward(p.port(), "s-2", "gamma", "confirm").status()).isEqualTo(200);
    }
    assertThat(ledger())
        .extracting(LedgerEntry::fault, LedgerEntry::effect)
        .containsExactly(tuple("storm", Effect.ERROR), tuple("none", Effect.APPLIED));
  }

  @Test
  void aLostAnswerAppliesAndClosesTheConnectionWithoutAnAnswer() {
    try (var p = start("none,lost-after=1")) {
      assertThat(Calls.forward(p.port(), "s-3", "alpha", "reserve").status()).isZero();
    }
    LedgerEntry e = ledger().get(0);
    assertThat(e.effect()).isEqualTo(Effect.APPLIED);
    assertThat(e.fault()).isEqualTo("lost-after");
    assertThat(e.http()).isZero();
  }

  @Test
  void unreadableAnswersAreOversizedOrNotJson() {
    try (var p = start("none,oversized=1")) {
      assertThat(Calls.forward(p.port(), "s-4", "alpha", "reserve").body().length())
          .isGreaterThan(1024 * 1024);
    }
    try (var p = start("none,malformed=1")) {
      assertThat(Calls.forward(p.port(), "s-5", "alpha", "reserve").body()).isEqualTo("{not json");
    }
  }

  @Test
  void aRejectedKeyIsRejectedAtEveryDelivery() {
    try (var p = start("none,reject=1")) {
      assertThat(Calls.forward(p.port(), "s-6", "beta", "charge").status()).isEqualTo(422);
      assertThat(Calls.forward(p.port(), "s-6", "beta", "charge").status()).isEqualTo(422);
      // Compensations have their own rejection rate, 0 here.
      assertThat(Calls.undo(p.port(), "s-6", "beta", "charge").status()).isEqualTo(200);
    }
    assertThat(ledger())
        .extracting(LedgerEntry::effect)
        .containsExactly(Effect.REJECTED, Effect.REJECTED, Effect.NOOP);
  }

  @Test
  void aDuplicateIsHandledTwiceAsTwoDeliveries() {
    try (var p = start("none,duplicate=1")) {
      assertThat(Calls.forward(p.port(), "s-7", "alpha", "reserve").status()).isEqualTo(200);
    }
    assertThat(ledger())
        .extracting(LedgerEntry::delivery, LedgerEntry::fault, LedgerEntry::effect)
        .containsExactlyInAnyOrder(
            tuple(1, "duplicate", Effect.APPLIED), tuple(2, "none", Effect.DEDUPLICATED));
  }

  @Test
  void anErrorBeforeAppliesNothing() {
    try (var p = start("none,error-before=1")) {
      assertThat(Calls.forward(p.port(), "s-8", "alpha", "reserve").status()).isEqualTo(503);
      assertThat(Calls.undo(p.port(), "s-8", "alpha", "reserve").status()).isEqualTo(503);
    }
    assertThat(ledger()).extracting(LedgerEntry::effect).containsOnly(Effect.ERROR);
  }

  @Test
  void aSkippedCompensationClaimsSuccessAndSaysSoInTheLedger() {
    var options =
        ParticipantOptions.of(7, dir.resolve("ledger.jsonl"))
            .withMix(FaultMix.NONE)
            .skippingCompensationEvery(1);
    try (var p = ChaosParticipant.start(options)) {
      Calls.forward(p.port(), "s-9", "alpha", "reserve");
      assertThat(Calls.undo(p.port(), "s-9", "alpha", "reserve").status()).isEqualTo(200);
    }
    assertThat(ledger())
        .extracting(LedgerEntry::fault, LedgerEntry::effect)
        .containsExactly(tuple("none", Effect.APPLIED), tuple("skipped", Effect.NOOP));
  }

  @Test
  void unknownPathsAndMissingKeysAreNotParticipantCalls() {
    try (var p = start("none")) {
      assertThat(Calls.post(p.port(), "/alpha/charge", "s/charge").status()).isEqualTo(404);
      assertThat(Calls.post(p.port(), "/alpha/reserve", "s/charge").status()).isEqualTo(404);
    }
    assertThat(ledger()).isEmpty();
  }
}
