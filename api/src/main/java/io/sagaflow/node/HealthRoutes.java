package io.sagaflow.node;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.HealthCheckSettings;
import org.apache.pekko.management.javadsl.CheckResult;
import org.apache.pekko.management.javadsl.HealthChecks;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/**
 * The startup, readiness and liveness endpoints of the management port, in place of
 * pekko-management's own {@code HealthCheckRoutes}: the same checks and paths ({@code
 * pekko.management.health-checks}), but a failed or timed-out check answers {@code 503 Service
 * Unavailable}, as load balancers and probes expect of a node that should get no traffic, where
 * pekko-management 1.1.1 answers {@code 500}.
 */
public final class HealthRoutes implements ManagementRouteProvider {
  private final HealthCheckSettings settings;
  private final HealthChecks checks;

  public HealthRoutes(ExtendedActorSystem system) {
    this.settings =
        HealthCheckSettings.create(
            system.settings().config().getConfig("pekko.management.health-checks"));
    this.checks = new HealthChecks(system, settings);
  }

  @Override
  public Route routes(ManagementRouteProviderSettings routeSettings) {
    return get(
        () ->
            concat(
                endpoint(settings.startupPath(), checks::startupResult),
                endpoint(settings.readinessPath(), checks::readyResult),
                endpoint(settings.livenessPath(), checks::aliveResult)));
  }

  private static Route endpoint(String at, Supplier<CompletionStage<CheckResult>> check) {
    return path(
        PathMatchers.separateOnSlashes(at),
        () ->
            onComplete(
                check.get(),
                result -> {
                  if (result.isFailure()) {
                    return complete(
                        StatusCodes.SERVICE_UNAVAILABLE,
                        "Health Check Failed: " + result.failed().get().getMessage());
                  }
                  CheckResult checked = result.get();
                  return checked.isSuccess()
                      ? complete(StatusCodes.OK)
                      : complete(
                          StatusCodes.SERVICE_UNAVAILABLE,
                          "Not Healthy: " + checked.failure().orElse(""));
                }));
  }
}
