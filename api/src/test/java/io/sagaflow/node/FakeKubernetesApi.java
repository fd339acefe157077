package io.sagaflow.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Just enough of a Kubernetes API server for Cluster Bootstrap's {@code kubernetes-api} discovery,
 * built on the JDK: HTTPS on 127.0.0.1 with a server certificate issued by a CA of its own
 * (generated with the JDK's {@code keytool} at start), bearer tokens it issued, and one resource:
 * {@code GET /api/v1/namespaces/<ns>/pods?labelSelector=...}.
 *
 * <p>Like a real API server with the Role in k8s/base/rbac.yaml: a request without a token it
 * issued is answered 401, one for another namespace than its service account's 403, any other path
 * 404. A pod list holds the namespace's pods whose labels match the selector, and only for the
 * selector given at start (the one the Deployment selects its pods with): any other selector lists
 * nothing, so that a node that asks with a wrong selector finds no contact points. Every request is
 * recorded.
 */
final class FakeKubernetesApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FakeKubernetesApi.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PODS = Pattern.compile("/api/v1/namespaces/([^/]+)/pods");
  private static final String STORE_PASSWORD = "fake-kubernetes";

  /** A service account's identity, as a token the fake issued names it. */
  record ServiceAccount(String namespace, String name, String pod) {
    String user() {
      return "system:serviceaccount:" + namespace + ":" + name;
    }
  }

  /**
   * The files the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount, here in {@code
   * directory}.
   */
  record Mount(Path directory, Path caCrt, Path token, Path namespace, ServiceAccount account) {}

  /**
   * One request as the fake saw it.
   *
   * @param caller the service account of the bearer token, empty when there was no token the fake
   *     issued
   * @param labelSelector the decoded {@code labelSelector} query parameter, if any
   * @param pods the number of pods listed, -1 when the answer was not a pod list
   */
  record Request(
      Instant at,
      String method,
      String path,
      String rawQuery,
      Optional<String> labelSelector,
      Optional<ServiceAccount> caller,
      int status,
      int pods) {
    Optional<String> namespace() {
      Matcher m = PODS.matcher(path);
      return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    @Override
    public String toString() {
      return method
          + " "
          + path
          + (rawQuery == null ? "" : "?" + rawQuery)
          + " by "
          + caller.map(ServiceAccount::pod).orElse("<no valid token>")
          + " -> "
          + status
          + (pods >= 0 ? " (" + pods + " pods)" : "");
    }
  }

  private final HttpsServer server;
  private final ExecutorService executor;
  private final Path caCertificate;
  private final String servedSelector;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, ServiceAccount> tokens = new ConcurrentHashMap<>();
  private final Map<String, List<ObjectNode>> podsByNamespace = new ConcurrentHashMap<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();

  private FakeKubernetesApi(
      HttpsServer server, ExecutorService executor, Path caCertificate, String servedSelector) {
    this.server = server;
    this.executor = executor;
    this.caCertificate = caCertificate;
    this.servedSelector = servedSelector;
  }

  /**
   * Generates the CA and the server certificate under {@code directory} and starts serving on
   * 127.0.0.1 on a free port.
   *
   * @param servedSelector the only label selector pods are listed for, e.g. {@code app=sagaflow}
   */
  static FakeKubernetesApi start(Path directory, String servedSelector) {
    try {
      Files.createDirectories(directory);
      Tls tls = Tls.generate(directory);
      var threads = new AtomicInteger();
      ExecutorService executor =
          Executors.newFixedThreadPool(
              4,
              runnable -> {
                Thread thread =
                    new Thread(runnable, "fake-kubernetes-api-" + threads.incrementAndGet());
                thread.setDaemon(true);
                return thread;
              });
      HttpsServer server =
          HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 64);
      server.setHttpsConfigurator(new HttpsConfigurator(tls.context()));
      var api = new FakeKubernetesApi(server, executor, tls.caCertificate(), servedSelector);
      server.createContext("/", api::handle);
      server.setExecutor(executor);
      server.start();
      log.info("Fake Kubernetes API on https://127.0.0.1:{}", api.port());
      return api;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the fake Kubernetes API", e);
    }
  }

  /** The value of {@code KUBERNETES_SERVICE_HOST}. */
  String host() {
    return "127.0.0.1";
  }

  /** The value of {@code KUBERNETES_SERVICE_PORT}. */
  int port() {
    return server.getAddress().getPort();
  }

  /** The CA certificate (PEM) the server's certificate is issued by: a pod's ca.crt. */
  Path caCertificate() {
    return caCertificate;
  }

  /**
   * Issues a token for a service account and writes what the kubelet mounts into a pod into {@code
   * directory}: ca.crt, token and namespace (the latter two without a trailing newline, as
   * Kubernetes writes them; the discovery does not trim them).
   */
  Mount mountServiceAccount(Path directory, String namespace, String serviceAccount, String pod) {
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    var account = new ServiceAccount(namespace, serviceAccount, pod);
    tokens.put(token, account);
    try {
      Files.createDirectories(directory);
      Path ca = Files.copy(caCertificate, directory.resolve("ca.crt"));
      Path tokenFile = Files.writeString(directory.resolve("token"), token);
      Path namespaceFile = Files.writeString(directory.resolve("namespace"), namespace);
      return new Mount(directory, ca, tokenFile, namespaceFile, account);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Adds a pod (its JSON as the API serves it) to the namespace in its metadata. */
  void addPod(ObjectNode pod) {
    String namespace = pod.path("metadata").path("namespace").asText();
    if (namespace.isEmpty()) {
      throw new IllegalArgumentException("a pod needs metadata.namespace: " + pod);
    }
    podsByNamespace.computeIfAbsent(namespace, ns -> new CopyOnWriteArrayList<>()).add(pod);
  }

  /** Every request so far, in arrival order. */
  List<Request> requests() {
    return List.copyOf(requests);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      exchange.getRequestBody().readAllBytes();
      URI uri = exchange.getRequestURI();
      String method = exchange.getRequestMethod();
      String path = uri.getRawPath();
      Map<String, String> query = query(uri.getRawQuery());
      Optional<String> selector = Optional.ofNullable(query.get("labelSelector"));
      Optional<ServiceAccount> caller = caller(exchange);
      Matcher pods = PODS.matcher(path);

      int status;
      ObjectNode body;
      int listed = -1;
      if (caller.isEmpty()) {
        status = 401;
        body = status(status, "Unauthorized", "Unauthorized");
      } else if (!pods.matches()) {
        status = 404;
        body = status(status, "NotFound", "the server could not find the requested resource");
      } else if (!method.equals("GET")) {
        status = 405;
        body = status(status, "MethodNotAllowed", "the server does not allow this method");
      } else if (!caller.get().namespace().equals(pods.group(1))) {
        status = 403;
        body =
            status(
                status,
                "Forbidden",
                "pods is forbidden: User \""
                    + caller.get().user()
                    + "\" cannot list resource \"pods\" in API group \"\" in the namespace \""
                    + pods.group(1)
                    + "\"");
      } else {
        status = 200;
        ArrayNode items = JSON.createArrayNode();
        if (selector.isPresent() && selector.get().equals(servedSelector)) {
          for (ObjectNode pod : podsByNamespace.getOrDefault(pods.group(1), List.of())) {
            if (matches(selector.get(), pod.path("metadata").path("labels"))) {
              items.add(pod);
            }
          }
        }
        listed = items.size();
        body = JSON.createObjectNode().put("kind", "PodList").put("apiVersion", "v1");
        body.putObject("metadata").put("resourceVersion", "1");
        body.set("items", items);
      }
      var request =
          new Request(
              Instant.now(), method, path, uri.getRawQuery(), selector, caller, status, listed);
      requests.add(request);
      log.info("Fake Kubernetes API: {}", request);

      byte[] bytes = JSON.writeValueAsBytes(body);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    } catch (RuntimeException e) {
      log.error("Fake Kubernetes API failed on {}", exchange.getRequestURI(), e);
      throw e;
    }
  }

  private Optional<ServiceAccount> caller(HttpExchange exchange) {
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    if (authorization == null || !authorization.startsWith("Bearer ")) {
      return Optional.empty();
    }
    return Optional.ofNullable(tokens.get(authorization.substring("Bearer ".length())));
  }

  /**
   * Equality-based selector terms: {@code k=v}, {@code k==v}, {@code k!=v}, {@code k}, {@code !k}.
   */
  static boolean matches(String selector, JsonNode labels) {
    for (String term : selector.split(",")) {
      String t = term.trim();
      boolean ok;
      if (t.contains("!=")) {
        String[] kv = t.split("!=", 2);
        ok = !labels.path(kv[0].trim()).asText("").equals(kv[1].trim());
      } else if (t.contains("=")) {
        String[] kv = t.split("==?", 2);
        ok = labels.has(kv[0].trim()) && labels.get(kv[0].trim()).asText().equals(kv[1].trim());
      } else if (t.startsWith("!")) {
        ok = !labels.has(t.substring(1).trim());
      } else {
        ok = labels.has(t);
      }
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static Map<String, String> query(String rawQuery) {
    var params = new LinkedHashMap<String, String>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return params;
    }
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      params.put(
          URLDecoder.decode(key, StandardCharsets.UTF_8),
          URLDecoder.decode(value, StandardCharsets.UTF_8));
    }
    return params;
  }

  private static ObjectNode status(int code, String reason, String message) {
    ObjectNode status = JSON.createObjectNode().put("kind", "Status").put("apiVersion", "v1");
    status.putObject("metadata");
    return status
        .put("status", "Failure")
        .put("message", message)
        .put("reason", reason)
        .put("code", code);
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  /** A CA and a server certificate for 127.0.0.1 it issued, made with the JDK's keytool. */
  private record Tls(Path caCertificate, SSLContext context) {

    static Tls generate(Path directory) throws IOException {
      Path ca = directory.resolve("ca.p12");
      Path server = directory.resolve("apiserver.p12");
      Path caPem = directory.resolve("ca.crt");
      Path csr = directory.resolve("apiserver.csr");
      Path serverPem = directory.resolve("apiserver.crt");
      for (Path p : List.of(ca, server, caPem, csr, serverPem)) {
        Files.deleteIfExists(p);
      }
      keytool(
          "-genkeypair",
          "-alias",
          "ca",
          "-keyalg",
          "EC",
          "-groupname",
          "secp256r1",
          "-dname",
          "CN=fake-kubernetes-ca",
          "-ext",
          "bc:c=ca:true",
          "-ext",
          "ku:c=keyCertSign,cRLSign",
          "-validity",
          "2",
          "-keystore",
          ca.toString(),
          "-storetype",
          "PKCS12",
          "-storepass",
          STORE_PASSWORD);
      keytool(
          "-exportcert",
          "-rfc",
          "-alias",
          "ca",
          "-file",
          caPem.toString(),
          "-keystore",
          ca.toString(),
          "-storepass",
          STORE_PASSWORD);
      keytool(
          "-genkeypair",
          "-alias",
          "apiserver",
          "-keyalg",
          "EC",
          "-groupname",
          "secp256r1",
          "-dname",
          "CN=kube-apiserver",
          "-validity",
          "2",
          "-keystore",
          server.toString(),
          "-storetype",
          "PKCS12",
          "-storepass",
          STORE_PASSWORD);
      keytool(
          "-certreq",
          "-alias",
          "apiserver",
          "-file",
          csr.toString(),
          "-keystore",
          server.toString(),
          "-storepass",
          STORE_PASSWORD);
      // The names a pod reaches the API server by: KUBERNETES_SERVICE_HOST here is 127.0.0.1.
      keytool(
          "-gencert",
          "-rfc",
          "-alias",
          "ca",
          "-infile",
          csr.toString(),
          "-outfile",
          serverPem.toString(),
          "-ext",
          "san=ip:127.0.0.1,dns:kubernetes.default.svc,dns:localhost",
          "-ext",
          "ku:c=digitalSignature,keyEncipherment",
          "-ext",
          "eku=serverAuth",
          "-validity",
          "2",
          "-keystore",
          ca.toString(),
          "-storepass",
          STORE_PASSWORD);
      try {
        char[] password = STORE_PASSWORD.toCharArray();
        KeyStore generated = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(server)) {
          generated.load(in, password);
        }
        var key = (PrivateKey) generated.getKey("apiserver", password);
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        Certificate leaf = x509.generateCertificate(read(serverPem));
        Certificate root = x509.generateCertificate(read(caPem));
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("apiserver", key, password, new Certificate[] {leaf, root});
        KeyManagerFactory managers =
            KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        managers.init(keys, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(managers.getKeyManagers(), null, null);
        return new Tls(caPem, context);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot load the fake API server's certificate", e);
      }
    }

    private static InputStream read(Path pem) throws IOException {
      return new ByteArrayInputStream(Files.readAllBytes(pem));
    }

    private static void keytool(String... args) throws IOException {
      var command = new ArrayList<String>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
      command.add("-J-XX:TieredStopAtLevel=1");
      command.addAll(List.of(args));
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      try {
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
          throw new IllegalStateException("keytool " + String.join(" ", args) + ":\n" + output);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted running keytool", e);
      } finally {
        process.destroyForcibly();
      }
    }
  }
}
