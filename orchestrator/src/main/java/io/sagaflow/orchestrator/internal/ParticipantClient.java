package io.sagaflow.orchestrator.internal;

import java.util.concurrent.CompletionStage;

/** Calls HTTP participants and classifies the reply; never completes exceptionally. */
public interface ParticipantClient {

  CompletionStage<Outcome> call(ParticipantRequest request);
}
