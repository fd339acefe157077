package io.sagaflow.bench;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalDouble;

/** CPU, heap and GC figures of this JVM, and CPU of the embedded PostgreSQL's processes. */
final class Resources {
  // USER_HZ: 100 on every mainstream Linux build.
  private static final double CLOCK_TICKS_PER_SECOND = 100.0;

  private Resources() {}

  /** CPU time this JVM has used, node and load generator alike, in nanoseconds. */
  static long processCpuNanos() {
    var os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getProcessCpuTime();
    }
    return -1;
  }

  static long gcCount() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionCount());
    }
    return n;
  }

  static long gcMillis() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionTime());
    }
    return n;
  }

  /** Starts a new measurement of {@link #peakHeapMb()}. */
  static void resetHeapPeak() {
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
  }

  /**
   * The sum of every heap pool's peak use since {@link #resetHeapPeak()}, in MiB: an upper bound of
   * the heap in use at any one moment (the pools peak at different times).
   */
  static double peakHeapMb() {
    long bytes = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
        bytes += pool.getPeakUsage().getUsed();
      }
    }
    return bytes / (1024.0 * 1024.0);
  }

  /**
   * CPU seconds used by a process tree: the process itself, the children it has reaped, and its
   * live descendants (for the postmaster: every backend, exited or not). Empty where {@code /proc}
   * cannot be read (not Linux, or not our process).
   */
  static OptionalDouble treeCpuSeconds(long pid) {
    if (pid <= 0) {
      return OptionalDouble.empty();
    }
    var root = ProcessHandle.of(pid);
    if (root.isEmpty()) {
      return OptionalDouble.empty();
    }
    long[] self = ticks(pid);
    if (self.length == 0) {
      return OptionalDouble.empty();
    }
    long total = self[0] + self[1] + self[2] + self[3];
    for (ProcessHandle child : (Iterable<ProcessHandle>) root.get().descendants()::iterator) {
      long[] t = ticks(child.pid());
      if (t.length > 0) {
        total += t[0] + t[1];
      }
    }
    return OptionalDouble.of(total / CLOCK_TICKS_PER_SECOND);
  }

  /** utime, stime, cutime, cstime of a process, in clock ticks; empty when unreadable. */
  private static long[] ticks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
      // fields[0] is field 3 (state); utime..cstime are fields 14..17.
      return new long[] {
        Long.parseLong(fields[11]),
        Long.parseLong(fields[12]),
        Long.parseLong(fields[13]),
        Long.parseLong(fields[14])
      };
    } catch (IOException | RuntimeException e) {
      return new long[0];
    }
  }
}
