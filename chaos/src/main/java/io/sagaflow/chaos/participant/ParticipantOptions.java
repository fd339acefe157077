package io.sagaflow.chaos.participant;

import java.nio.file.Path;

/**
 * How the chaos participant runs: {@code --port 0 --seed <long> --ledger <file> [--no-dedup]
 * [--skip-compensation-every <n>] [--mix <spec>]} (see {@link FaultMix#parse} for the mix).
 *
 * @param port the port to listen on, 0 for any free one
 * @param seed the seed of the fault mix
 * @param ledger the ledger file (appended to)
 * @param dedup whether a repeated idempotency key is answered as the first time; off applies every
 *     delivery (a negative control)
 * @param skipCompensationEvery when above 0, every n-th compensation answers 200 without undoing
 *     anything (a negative control)
 * @param mix the faults
 */
public record ParticipantOptions(
    int port, long seed, Path ledger, boolean dedup, int skipCompensationEvery, FaultMix mix) {

  public ParticipantOptions {
    if (ledger == null) {
      throw new IllegalArgumentException("--ledger is required");
    }
    if (skipCompensationEvery < 0) {
      throw new IllegalArgumentException("--skip-compensation-every must not be negative");
    }
  }

  /** Dedup on, nothing skipped, the default mix. */
  public static ParticipantOptions of(long seed, Path ledger) {
    return new ParticipantOptions(0, seed, ledger, true, 0, FaultMix.DEFAULT);
  }

  public ParticipantOptions withMix(FaultMix mix) {
    return new ParticipantOptions(port, seed, ledger, dedup, skipCompensationEvery, mix);
  }

  public ParticipantOptions withoutDedup() {
    return new ParticipantOptions(port, seed, ledger, false, skipCompensationEvery, mix);
  }

  public ParticipantOptions skippingCompensationEvery(int n) {
    return new ParticipantOptions(port, seed, ledger, dedup, n, mix);
  }

  public static ParticipantOptions parse(String[] args) {
    int port = 0;
    long seed = 1;
    Path ledger = null;
    boolean dedup = true;
    int skip = 0;
    FaultMix mix = FaultMix.DEFAULT;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(value(args, ++i));
        case "--seed" -> seed = Long.parseLong(value(args, ++i));
        case "--ledger" -> ledger = Path.of(value(args, ++i));
        case "--no-dedup" -> dedup = false;
        case "--skip-compensation-every" -> skip = Integer.parseInt(value(args, ++i));
        case "--mix" -> mix = FaultMix.parse(value(args, ++i));
        default -> throw new IllegalArgumentException("unknown participant option " + args[i]);
      }
    }
    return new ParticipantOptions(port, seed, ledger, dedup, skip, mix);
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new IllegalArgumentException(args[i - 1] + " needs a value");
    }
    return args[i];
  }
}
