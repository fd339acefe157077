package io.sagaflow.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * Renders a kustomization directory into its Kubernetes objects, in Java, for the kustomize
 * features these manifests use (resources, components, ConfigMaps generated from files with a fixed
 * name, strategic-merge patches, namespace, images); a kustomization that uses any other feature is
 * refused rather than rendered wrong. When {@code kubectl} is on the PATH, {@link #kubectl} renders
 * with kustomize itself, so that the tests can hold this rendering to the real one.
 */
final class Kustomize {

  static final YAMLMapper YAML = new YAMLMapper();

  private static final Set<String> SUPPORTED =
      Set.of(
          "apiVersion",
          "kind",
          "resources",
          "components",
          "configMapGenerator",
          "patches",
          "namespace",
          "images");

  private static final Set<String> CLUSTER_SCOPED =
      Set.of(
          "Namespace",
          "ClusterRole",
          "ClusterRoleBinding",
          "PersistentVolume",
          "StorageClass",
          "PriorityClass",
          "CustomResourceDefinition");

  private Kustomize() {}

  /** The objects {@code dir}'s kustomization.yaml renders to, in resource order. */
  static List<ObjectNode> render(Path dir) {
    ObjectNode kustomization = readAll(dir.resolve("kustomization.yaml")).get(0);
    kustomization
        .fieldNames()
        .forEachRemaining(
            field ->
                assertThat(SUPPORTED)
                    .as("%s/kustomization.yaml uses '%s'; teach Kustomize.render it", dir, field)
                    .contains(field));
    var objects = new ArrayList<ObjectNode>();
    for (JsonNode resource : kustomization.path("resources")) {
      Path path = dir.resolve(resource.asText()).normalize();
      objects.addAll(Files.isDirectory(path) ? render(path) : readAll(path));
    }
    for (JsonNode generator : kustomization.path("configMapGenerator")) {
      objects.add(configMap(dir, generator));
    }
    // A component's objects join the kustomization's; these components patch nothing.
    for (JsonNode component : kustomization.path("components")) {
      Path path = dir.resolve(component.asText()).normalize();
      ObjectNode componentFile = readAll(path.resolve("kustomization.yaml")).get(0);
      assertThat(componentFile.path("kind").asText())
          .as("%s is a Component", path)
          .isEqualTo("Component");
      assertThat(componentFile.has("patches")).as("patches in component %s", path).isFalse();
      objects.addAll(render(path));
    }
    for (JsonNode patch : kustomization.path("patches")) {
      assertThat(patch.fieldNames())
          .toIterable()
          .as("only file patches targeting by their own kind and name")
          .containsExactly("path");
      for (ObjectNode change : readAll(dir.resolve(patch.get("path").asText()))) {
        ObjectNode target =
            objects.stream()
                .filter(o -> key(o).equals(key(change)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("patch for a missing " + key(change)));
        merge(target, change);
      }
    }
    String namespace = kustomization.path("namespace").asText("");
    if (!namespace.isEmpty()) {
      objects.stream()
          .filter(o -> !CLUSTER_SCOPED.contains(o.path("kind").asText()))
          .forEach(o -> ((ObjectNode) o.get("metadata")).put("namespace", namespace));
      // kustomize's name references: a binding's subject that names one of these service accounts
      // follows it into the namespace.
      Set<String> accounts =
          objects.stream()
              .filter(o -> o.path("kind").asText().equals("ServiceAccount"))
              .map(o -> o.path("metadata").path("name").asText())
              .collect(Collectors.toSet());
      objects.stream()
          .filter(o -> o.path("kind").asText().endsWith("RoleBinding"))
          .flatMap(o -> StreamSupport.stream(o.path("subjects").spliterator(), false))
          .filter(s -> s.path("kind").asText().equals("ServiceAccount"))
          .filter(s -> accounts.contains(s.path("name").asText()))
          .forEach(s -> ((ObjectNode) s).put("namespace", namespace));
    }
    for (JsonNode image : kustomization.path("images")) {
      objects.forEach(o -> retag(o, image));
    }
    return objects;
  }

  /**
   * The ConfigMap of a {@code configMapGenerator} entry that reads files, with the fixed name that
   * {@code disableNameSuffixHash} gives it (kustomize's hash suffix is not reproduced here).
   */
  private static ObjectNode configMap(Path dir, JsonNode generator) {
    assertThat(generator.fieldNames())
        .toIterable()
        .as("configMapGenerator fields")
        .containsOnly("name", "files", "options");
    JsonNode options = generator.path("options");
    assertThat(options.fieldNames()).toIterable().containsOnly("disableNameSuffixHash", "labels");
    assertThat(options.path("disableNameSuffixHash").asBoolean())
        .as("configMapGenerator %s sets disableNameSuffixHash", generator.path("name"))
        .isTrue();
    ObjectNode map = YAML.createObjectNode();
    map.put("apiVersion", "v1");
    map.put("kind", "ConfigMap");
    ObjectNode metadata = map.putObject("metadata");
    metadata.put("name", generator.get("name").asText());
    if (options.has("labels")) {
      metadata.set("labels", options.get("labels").deepCopy());
    }
    ObjectNode data = map.putObject("data");
    for (JsonNode file : generator.path("files")) {
      String[] keyAndPath = file.asText().split("=", 2);
      Path path = dir.resolve(keyAndPath[keyAndPath.length - 1]).normalize();
      String key = keyAndPath.length == 2 ? keyAndPath[0] : path.getFileName().toString();
      try {
        data.put(key, Files.readString(path, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return map;
  }

  /** The objects {@code kubectl kustomize dir} renders, or empty when kubectl is not installed. */
  static Optional<List<ObjectNode>> kubectl(Path dir) {
    Optional<Path> kubectl = onPath("kubectl");
    if (kubectl.isEmpty()) {
      return Optional.empty();
    }
    try {
      Path out = Files.createTempFile("kustomize", ".yaml");
      try {
        Process process =
            new ProcessBuilder(kubectl.get().toString(), "kustomize", dir.toString())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("kubectl kustomize finished").isTrue();
        String output = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as("kubectl kustomize %s: %s", dir, output).isZero();
        return Optional.of(readAll(output));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * The objects by kind/namespace/name, with lists of named items (containers, env, ports) in name
   * order, which kustomize's patching does not keep.
   */
  static Map<String, JsonNode> normalized(List<ObjectNode> objects) {
    var byKey = new TreeMap<String, JsonNode>();
    for (ObjectNode o : objects) {
      byKey.put(key(o), sortNamedLists(o.deepCopy()));
    }
    return byKey;
  }

  static String key(JsonNode o) {
    JsonNode metadata = o.path("metadata");
    return o.path("kind").asText()
        + "/"
        + metadata.path("namespace").asText("")
        + "/"
        + metadata.path("name").asText();
  }

  static List<ObjectNode> readAll(Path file) {
    try {
      return readAll(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<ObjectNode> readAll(String yaml) {
    var documents = new ArrayList<ObjectNode>();
    try (var values = YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml)) {
      while (values.hasNext()) {
        JsonNode document = values.next();
        if (document != null && document.isObject()) {
          documents.add((ObjectNode) document);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return documents;
  }

  /**
   * Strategic merge as the API server does it for the fields patched here: objects merge field by
   * field, lists of named objects merge by name, any other list or value is replaced.
   */
  private static void merge(ObjectNode target, ObjectNode patch) {
    for (Map.Entry<String, JsonNode> field : patch.properties()) {
      JsonNode current = target.get(field.getKey());
      JsonNode change = field.getValue();
      if (current instanceof ObjectNode currentObject
          && change instanceof ObjectNode changeObject) {
        merge(currentObject, changeObject);
      } else if (current instanceof ArrayNode currentList
          && change instanceof ArrayNode changeList
          && allNamed(currentList)
          && allNamed(changeList)) {
        for (JsonNode item : changeList) {
          Optional<ObjectNode> same = find(currentList, item.get("name").asText());
          if (same.isPresent()) {
            merge(same.get(), (ObjectNode) item);
          } else {
            currentList.add(item.deepCopy());
          }
        }
      } else {
        target.set(field.getKey(), change.deepCopy());
      }
    }
  }

  private static boolean allNamed(ArrayNode list) {
    for (JsonNode item : list) {
      if (!item.isObject() || !item.path("name").isTextual()) {
        return false;
      }
    }
    return true;
  }

  private static Optional<ObjectNode> find(ArrayNode list, String name) {
    for (JsonNode item : list) {
      if (item.get("name").asText().equals(name)) {
        return Optional.of((ObjectNode) item);
      }
    }
    return Optional.empty();
  }

  /** kustomize's images transformer: containers whose image is {@code name} get the new one. */
  private static void retag(ObjectNode object, JsonNode image) {
    JsonNode pod = object.path("spec").path("template").path("spec");
    for (String list : List.of("initContainers", "containers")) {
      for (JsonNode container : pod.path(list)) {
        String current = container.path("image").asText();
        String name = current.replaceFirst("[:@].*$", "");
        if (name.equals(image.get("name").asText())) {
          String newName = image.path("newName").asText(name);
          String tag = current.contains(":") ? current.substring(current.indexOf(':') + 1) : "";
          String newTag = image.path("newTag").asText(tag);
          ((ObjectNode) container)
              .put("image", newTag.isEmpty() ? newName : newName + ":" + newTag);
        }
      }
    }
  }

  private static JsonNode sortNamedLists(JsonNode node) {
    if (node instanceof ObjectNode object) {
      object.properties().forEach(f -> f.setValue(sortNamedLists(f.getValue())));
      return object;
    }
    if (node instanceof ArrayNode list) {
      var items = new ArrayList<JsonNode>();
      list.forEach(item -> items.add(sortNamedLists(item)));
      if (allNamed(list)) {
        items.sort((a, b) -> a.get("name").asText().compareTo(b.get("name").asText()));
      }
      ArrayNode sorted = list.arrayNode();
      sorted.addAll(items);
      return sorted;
    }
    return node;
  }

  private static Optional<Path> onPath(String command) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir, command);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }
}
