package io.sagaflow.orchestrator.dsl;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How a step (or a compensation) is retried: attempts, exponential backoff with jitter, and which
 * local failures are never retried.
 *
 * <p>The delay before attempt {@code n + 1} is {@code min(maxBackoff, minBackoff * multiplier^(n -
 * 1))}, reduced by a random fraction of at most {@code jitter} of itself ({@code jitter = 1} is
 * "full jitter"). A participant's {@code Retry-After} is honoured as far as {@code maxBackoff},
 * lengthened by jitter rather than shortened ({@link #backoffAfter(int, Optional)}).
 */
public final class RetryPolicy {

  /** The policy a step gets when its definition says nothing. */
  public static final RetryPolicy DEFAULT = builder().build();

  /**
   * The policy a compensation gets when its definition says nothing: undoing matters more than
   * finishing fast, so it keeps trying longer (10 attempts, 500 ms to 30 s apart).
   */
  public static final RetryPolicy COMPENSATION_DEFAULT =
      builder()
          .maxAttempts(10)
          .minBackoff(Duration.ofMillis(500))
          .maxBackoff(Duration.ofSeconds(30))
          .build();

  private static final int UNLIMITED = Integer.MAX_VALUE;

  private final int maxAttempts;
  private final Duration minBackoff;
  private final Duration maxBackoff;
  private final double multiplier;
  private final double jitter;
  private final Set<Class<? extends Throwable>> nonRetryable;

  private RetryPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.minBackoff = b.minBackoff;
    this.maxBackoff = b.maxBackoff;
    this.multiplier = b.multiplier;
    this.jitter = b.jitter;
    this.nonRetryable = Set.copyOf(b.nonRetryable);
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxAttempts = maxAttempts;
    b.minBackoff = minBackoff;
    b.maxBackoff = maxBackoff;
    b.multiplier = multiplier;
    b.jitter = jitter;
    b.nonRetryable = nonRetryable;
    return b;
  }

  /** Attempts in all, the first included. */
  public int maxAttempts() {
    return maxAttempts;
  }

  public boolean unlimited() {
    return maxAttempts == UNLIMITED;
  }

  public Duration minBackoff() {
    return minBackoff;
  }

  public Duration maxBackoff() {
    return maxBackoff;
  }

  public double multiplier() {
    return multiplier;
  }

  public double jitter() {
    return jitter;
  }

  public Set<Class<? extends Throwable>> nonRetryable() {
    return nonRetryable;
  }

  /** Whether another attempt is allowed after {@code attempt} attempts failed retryably. */
  public boolean allowsAttemptAfter(int attempt) {
    return unlimited() || attempt < maxAttempts;
  }

  /** Whether a local failure of this type is permanent under this policy. */
  public boolean isNonRetryable(Throwable failure) {
    return nonRetryable.stream().anyMatch(type -> type.isInstance(failure));
  }

  /** The largest delay (before jitter) after the given failed attempt (1-based). */
  public Duration ceilingAfter(int attempt) {
    double factor = Math.pow(multiplier, Math.max(0, attempt - 1));
    double millis = minBackoff.toMillis() * factor;
    if (Double.isInfinite(millis) || millis >= maxBackoff.toMillis()) {
      return maxBackoff;
    }
    return Duration.ofMillis((long) millis);
  }

  /** The delay to wait after the given failed attempt (1-based), jitter applied. */
  public Duration backoffAfter(int attempt) {
    Duration ceiling = ceilingAfter(attempt);
    double reduction = jitter * ThreadLocalRandom.current().nextDouble();
    return Duration.ofMillis(Math.round(ceiling.toMillis() * (1.0 - reduction)));
  }

  /**
   * The delay to wait after the given failed attempt (1-based) when the participant asked for
   * {@code retryAfter}: what it asked, as far as {@code maxBackoff}, lengthened by a random
   * fraction of at most {@code jitter} of itself, and never less than {@link #backoffAfter(int)}.
   * The lengthening keeps the sagas told the same {@code Retry-After} at the same moment (a
   * participant answering {@code Retry-After: 1} to all of them, or an open circuit breaker) from
   * all coming back at one instant.
   */
  public Duration backoffAfter(int attempt, Optional<Duration> retryAfter) {
    Duration backoff = backoffAfter(attempt);
    if (retryAfter.isEmpty()) {
      return backoff;
    }
    Duration asked = retryAfter.get().compareTo(maxBackoff) > 0 ? maxBackoff : retryAfter.get();
    double stretch = 1.0 + jitter * ThreadLocalRandom.current().nextDouble();
    Duration spread = Duration.ofMillis(Math.round(asked.toMillis() * stretch));
    return spread.compareTo(backoff) > 0 ? spread : backoff;
  }

  @Override
  public String toString() {
    return "RetryPolicy{maxAttempts="
        + (unlimited() ? "unlimited" : maxAttempts)
        + ", minBackoff="
        + minBackoff
        + ", maxBackoff="
        + maxBackoff
        + ", multiplier="
        + multiplier
        + ", jitter="
        + jitter
        + ", nonRetryable="
        + nonRetryable.stream().map(Class::getSimpleName).sorted().toList()
        + "}";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RetryPolicy p
        && maxAttempts == p.maxAttempts
        && minBackoff.equals(p.minBackoff)
        && maxBackoff.equals(p.maxBackoff)
        && multiplier == p.multiplier
        && jitter == p.jitter
        && nonRetryable.equals(p.nonRetryable);
  }

  @Override
  public int hashCode() {
    return Objects.hash(maxAttempts, minBackoff, maxBackoff, multiplier, jitter, nonRetryable);
  }

  /** Collects a policy's values; {@link #build()} checks them together. */
  public static final class Builder {
    private int maxAttempts = 5;
    private Duration minBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(10);
    private double multiplier = 2.0;
    private double jitter = 0.2;
    private Set<Class<? extends Throwable>> nonRetryable = Set.of(StepRejectedException.class);

    private Builder() {}

    /** Attempts in all, counting the first one; at least 1. */
    public Builder maxAttempts(int maxAttempts) {
      this.maxAttempts = maxAttempts;
      return this;
    }

    /** Retry until the step succeeds. */
    public Builder unlimitedAttempts() {
      this.maxAttempts = UNLIMITED;
      return this;
    }

    public Builder minBackoff(Duration minBackoff) {
      this.minBackoff = Objects.requireNonNull(minBackoff, "minBackoff");
      return this;
    }

    public Builder maxBackoff(Duration maxBackoff) {
      this.maxBackoff = Objects.requireNonNull(maxBackoff, "maxBackoff");
      return this;
    }

    public Builder multiplier(double multiplier) {
      this.multiplier = multiplier;
      return this;
    }

    /** Fraction in [0, 1] by which each delay is randomly shortened; 1 is full jitter. */
    public Builder jitter(double jitter) {
      this.jitter = jitter;
      return this;
    }

    /**
     * Adds failure types (and their subtypes) that are permanent: an exception of one of them,
     * thrown by a local step or while building a step's request, rejects the step without another
     * attempt. Added to those the policy already lists (a step's own adds to its definition's);
     * {@link StepRejectedException} always is.
     */
    @SafeVarargs
    public final Builder nonRetryable(Class<? extends Throwable>... types) {
      var all = new java.util.HashSet<Class<? extends Throwable>>(nonRetryable);
      for (Class<? extends Throwable> type : types) {
        all.add(Objects.requireNonNull(type, "nonRetryable type"));
      }
      this.nonRetryable = all;
      return this;
    }

    /** Validates the values together and returns the immutable policy. */
    public RetryPolicy build() {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException(
            "maxAttempts must be at least 1 (it counts the first attempt), was " + maxAttempts);
      }
      if (minBackoff.isNegative()) {
        throw new IllegalArgumentException("minBackoff must not be negative, was " + minBackoff);
      }
      if (maxBackoff.isNegative()) {
        throw new IllegalArgumentException("maxBackoff must not be negative, was " + maxBackoff);
      }
      if (maxBackoff.compareTo(minBackoff) < 0) {
        throw new IllegalArgumentException(
            "maxBackoff ("
                + maxBackoff
                + ") must not be shorter than minBackoff ("
                + minBackoff
                + ")");
      }
      if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
        throw new IllegalArgumentException("multiplier must be at least 1.0, was " + multiplier);
      }
      if (!(jitter >= 0.0 && jitter <= 1.0)) {
        throw new IllegalArgumentException("jitter must be between 0 and 1, was " + jitter);
      }
      return new RetryPolicy(this);
    }
  }
}
