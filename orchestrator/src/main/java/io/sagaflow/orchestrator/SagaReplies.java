package io.sagaflow.orchestrator;

/** The answers a saga entity gives to its commands. */
public final class SagaReplies {
  private SagaReplies() {}

  /** Answer to {@link SagaEntity.Start}. */
  public sealed interface StartReply extends SagaSerializable {}

  /** The saga exists: {@code created} false when this start repeated an earlier identical one. */
  public record Accepted(SagaView saga, boolean created) implements StartReply {}

  /** The id is taken by a saga with another type or input. */
  public record Conflict(String detail, SagaView existing) implements StartReply {}

  /** Nothing was started: the type is unknown or the input does not fit the definition. */
  public record Invalid(Problem problem, String detail) implements StartReply {}

  /** Why a start was invalid. */
  public enum Problem {
    UNKNOWN_TYPE,
    INVALID_INPUT
  }

  /** Answer to {@link SagaEntity.Get}. */
  public sealed interface GetReply extends SagaSerializable {}

  public record Found(SagaView saga) implements GetReply {}

  public record NotFound() implements GetReply, OperatorReply {}

  /** Answer to operator commands ({@link SagaEntity.Cancel}, {@link SagaEntity.Resume}). */
  public sealed interface OperatorReply extends SagaSerializable {}

  public record Done(SagaView saga) implements OperatorReply {}

  public record Refused(String detail, SagaView saga) implements OperatorReply {}

  /** A signal the saga's definition does not wait for: nothing was written. */
  public record UnknownSignal(String detail) implements OperatorReply {}
}
