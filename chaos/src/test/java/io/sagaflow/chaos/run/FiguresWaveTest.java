package io.sagaflow.chaos.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The storm's returning wave: its window, busiest 100 ms and mean. */
class FiguresWaveTest {
  private static final long END = 1_000_000;

  @Test
  void anEvenWaveIsAsBusyAtItsPeakAsOnAverage() {
    // 200 sagas, two every 100 ms for 10 s.
    long[] times = LongStream.range(0, 200).map(i -> END + 1_000 + (i / 2) * 100).toArray();

    Figures.Wave wave = Figures.wave(times, END);

    assertThat(wave.sagas()).isEqualTo(200);
    assertThat(wave.leftOut()).isEqualTo(4);
    assertThat(wave.firstBackMs()).isEqualTo(1_000);
    assertThat(wave.peak100ms()).isEqualTo(2);
    assertThat(wave.peakToMean()).isEqualTo(1.0);
  }

  @Test
  void aBurstStandsOutFromItsWave() {
    // 150 spread over 15 s, and 50 more within one 100 ms.
    long[] spread = LongStream.range(0, 150).map(i -> END + i * 100).toArray();
    long[] burst = LongStream.range(0, 50).map(i -> END + 7_000 + i).toArray();
    long[] times =
        LongStream.concat(Arrays.stream(spread), Arrays.stream(burst)).sorted().toArray();

    Figures.Wave wave = Figures.wave(times, END);

    assertThat(wave.peak100ms()).isEqualTo(51);
    assertThat(wave.peakToMean()).isGreaterThan(3.0);
  }

  @Test
  void aLoneEarlyCallDoesNotStretchTheWindowOfAWaveOfAHundredOrMore() {
    // A breaker's trial call 0.5 s after the storm, then 200 sagas over 5 s from 3 s on.
    long[] wave = LongStream.range(0, 200).map(i -> END + 3_000 + (i / 4) * 100).toArray();
    long[] times = LongStream.concat(LongStream.of(END + 500), Arrays.stream(wave)).toArray();

    Figures.Wave trimmed = Figures.wave(times, END);

    assertThat(trimmed.firstBackMs()).isEqualTo(500);
    assertThat(trimmed.spanMs()).isLessThan(5_000);
    assertThat(trimmed.peakToMean()).isLessThan(1.1);
  }

  @Test
  void belowAHundredSagasNothingIsLeftOut() {
    long[] times = {END + 500, END + 3_000, END + 3_050, END + 3_100};

    Figures.Wave wave = Figures.wave(times, END);

    assertThat(wave.leftOut()).isZero();
    assertThat(wave.spanMs()).isEqualTo(2_600);
    assertThat(wave.mean100ms()).isEqualTo(4.0 / 27);
  }
}
