/**
 * A saga's history: the one contract between the engine and everything that reads sagas.
 *
 * <p>{@link io.sagaflow.orchestrator.history.SagaEvent} lists what can happen to a saga; the
 * journal keeps these records, and nothing else, for every saga. {@link
 * io.sagaflow.orchestrator.history.SagaSnapshot} is their fold: one immutable record per lifecycle
 * phase, whose transitions are the only place that says what an event does to a saga. {@link
 * io.sagaflow.orchestrator.history.StatusChange} is the part of that rule a reader can apply from
 * one event alone (the saga index keeps a status, not a fold). {@link
 * io.sagaflow.orchestrator.history.EventType} names each event for the outside world; {@link
 * io.sagaflow.orchestrator.history.SagaHistory} says where a saga's history lives (its persistence
 * id and index tag) and folds it.
 *
 * <p>The saga entity, the saga index projection, the HTTP API and every later reader (event stream,
 * webhooks, metrics, UI) read sagas through this package and re-derive nothing.
 *
 * <p><b>How events evolve.</b> A journal written by any earlier release must load:
 *
 * <ul>
 *   <li>An event's JSON shape is never edited in place. A field may be added when its absence reads
 *       as the old meaning (Jackson fills a missing field with null, false or 0). Any other change
 *       raises the event's {@code schemaVersion} and ships a {@code JacksonMigration} for the
 *       event's class that turns every older version's JSON into the new one, with a test that
 *       reads the old JSON.
 *   <li>The journal stores each event's Java class name as its manifest. A class that moves or is
 *       renamed keeps being readable under its old name through {@code
 *       pekko.serialization.jackson.migrations} (see {@code MovedEvents}, which maps the names the
 *       events had when they were nested in {@code SagaEntity}).
 *   <li>Public names ({@link io.sagaflow.orchestrator.history.EventType}) never change; a new event
 *       gets a new name, and its transitions in every phase where it may occur.
 *   <li>The old-journal test ({@code OldJournalIT}) loads a journal written by an earlier release
 *       and drives each of its sagas to the end; a change that breaks it needs a migration, not a
 *       new fixture.
 * </ul>
 */
package io.sagaflow.orchestrator.history;
