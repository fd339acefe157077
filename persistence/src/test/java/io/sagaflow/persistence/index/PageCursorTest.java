package io.sagaflow.persistence.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PageCursorTest {

  private static final Instant AT = Instant.parse("2025-03-04T05:06:07.123456Z");

  @Test
  void roundTripsCreationTimeAndSagaId() {
    PageCursor cursor = PageCursor.after(AT, "order-ü/42|x");

    PageCursor decoded = PageCursor.decode(cursor.encode());

    assertThat(decoded).isEqualTo(cursor);
    assertThat(decoded.createdAt()).isEqualTo(AT);
    assertThat(decoded.sagaId()).isEqualTo("order-ü/42|x");
  }

  @Test
  void isUrlSafeAndOpaque() {
    String token = PageCursor.after(AT, "order-42").encode();

    assertThat(token).matches("[A-Za-z0-9_-]+").doesNotContain("order");
  }

  @Test
  void rejectsEveryChangedCharacter() {
    String token = PageCursor.after(AT, "order-42").encode();
    for (int i = 0; i < token.length(); i++) {
      char replacement = token.charAt(i) == 'A' ? 'B' : 'A';
      String tampered = token.substring(0, i) + replacement + token.substring(i + 1);
      assertThatThrownBy(() -> PageCursor.decode(tampered))
          .as("changed at %d: %s", i, tampered)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid cursor");
    }
  }

  @Test
  void rejectsTruncatedExtendedAndPaddedTokens() {
    String token = PageCursor.after(AT, "order-42").encode();

    for (String bad :
        new String[] {
          token.substring(0, token.length() - 1),
          token + "A",
          token + "=",
          token + "==",
          token + " "
        }) {
      assertThatThrownBy(() -> PageCursor.decode(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid cursor");
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"", "x", "not a cursor", "%%%", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "' OR 1=1 --"})
  void rejectsGarbage(String garbage) {
    assertThatThrownBy(() -> PageCursor.decode(garbage))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("invalid cursor");
  }

  @Test
  void rejectsOverlongTokensBeforeDecoding() {
    String longId = "x".repeat(PageCursor.MAX_TOKEN_LENGTH);
    String token = PageCursor.after(AT, longId).encode();

    assertThatThrownBy(() -> PageCursor.decode(token)).hasMessage("invalid cursor");
  }

  @Test
  void rejectsWellFormedTokensThePageQueryCouldNotUse() {
    // Forged with a valid checksum, so only the field checks stand between them and the query.
    for (PageCursor forged :
        new PageCursor[] {
          new PageCursor(Long.MAX_VALUE, "order-42"),
          new PageCursor(Long.MIN_VALUE, "order-42"),
          new PageCursor(0, "nul\0inside")
        }) {
      assertThatThrownBy(() -> PageCursor.decode(forged.encode()))
          .as(forged.toString())
          .hasMessage("invalid cursor");
    }
  }

  @Test
  void rejectsMalformedUtf8InTheSagaId() throws Exception {
    // A lead byte without its continuation, under a valid checksum.
    byte[] body =
        ByteBuffer.allocate(11).put((byte) 1).putLong(0).put((byte) 'a').put((byte) 0xC3).array();
    byte[] checksum = Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(body), 8);
    byte[] token = ByteBuffer.allocate(19).put(body).put(checksum).array();
    String forged = Base64.getUrlEncoder().withoutPadding().encodeToString(token);

    assertThatThrownBy(() -> PageCursor.decode(forged)).hasMessage("invalid cursor");
  }
}
