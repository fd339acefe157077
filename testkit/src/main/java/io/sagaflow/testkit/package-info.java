/**
 * A test kit for sagas: {@link io.sagaflow.testkit.SagaTestKit} runs a saga definition on the
 * engine against scripted participant {@link io.sagaflow.testkit.Answer}s, in virtual time, and
 * {@link io.sagaflow.testkit.Expectations} check what it did. Independent of any test framework.
 */
package io.sagaflow.testkit;
