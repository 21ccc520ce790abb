package dev.edgellm.service.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.edgellm.core.fit.MemoryFit;
import dev.edgellm.core.fit.ModelCatalog;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.service.config.EdgeLlmConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Validates every manifest under {@code k8s/}: each document parses into the Kubernetes model with
 * no unknown field; base and overlays are rendered (resources, namespace, labels, strategic-merge
 * patches) and checked against the service itself: probes on its health paths, its HTTP port,
 * environment variables that name real {@code edgellm.*} properties, the image the build makes,
 * resource limits that exist and hold the model as {@code edgellm fit} sizes it, and the
 * security settings the README promises.
 */
class KubernetesManifestsTest {
    private static final Path PROJECT = Path.of(Optional.ofNullable(System.getenv("EDGELLM_PROJECT_DIR")).orElse("../.."));
    private static final Path K8S = PROJECT.resolve("k8s");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Map<String, Class<?>> KINDS = Map.of(
            "Namespace", Namespace.class, "ServiceAccount", ServiceAccount.class, "ConfigMap", ConfigMap.class,
            "DaemonSet", DaemonSet.class, "Service", Service.class, "NetworkPolicy", NetworkPolicy.class,
            "PersistentVolumeClaim", PersistentVolumeClaim.class);
    /** Quarkus settings the manifests may set besides the service's own (edgellm.*). */
    private static final Set<String> QUARKUS_VARIABLES = Set.of("QUARKUS_HTTP_HOST", "QUARKUS_MANAGEMENT_HOST");
    /** Volume types Pod Security "restricted" allows. */
    private static final Set<String> RESTRICTED_VOLUMES = Set.of("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
            "persistentVolumeClaim", "projected", "secret");
    private static final Set<String> KUSTOMIZATION_KEYS = Set.of("apiVersion", "kind", "namespace", "labels", "resources",
            "patches", "images", "namePrefix", "nameSuffix", "commonAnnotations", "configMapGenerator", "components");
    /** Runtime the service needs beyond the engine's estimate (Quarkus, HTTP, MQTT); see the ConfigMap. */
    private static final Map<String, String> PROBE_PATHS = Map.of(
            "startup", "/q/health/started", "readiness", "/q/health/ready", "liveness", "/q/health/live");

    static Stream<Path> variants() {
        return Stream.of(K8S.resolve("base"), K8S.resolve("overlays/small-gateway"), K8S.resolve("overlays/gpu-node"));
    }

    // ---- every file, every document -------------------------------------------------------------------

    @Test
    void everyDocumentParsesWithNoUnknownField() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(K8S)) {
            files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertTrue(files.size() >= 10, "manifests found under " + K8S + ": " + files);
        for (Path f : files) {
            for (Map<String, Object> doc : documents(f)) {
                String kind = String.valueOf(doc.get("kind"));
                if (kind.equals("Kustomization")) {
                    checkKustomization(f, doc);
                    continue;
                }
                Class<?> type = KINDS.get(kind);
                assertNotNull(type, f + ": unexpected kind " + kind);
                Object typed = YAML.convertValue(doc, type);
                List<String> unknown = new ArrayList<>();
                unknownFields(typed, kind, unknown);
                assertTrue(unknown.isEmpty(), f + ": unknown fields " + unknown);
            }
        }
    }

    private static void checkKustomization(Path file, Map<String, Object> k) {
        assertEquals("kustomize.config.k8s.io/v1beta1", k.get("apiVersion"), file + ": apiVersion");
        for (String key : k.keySet()) {
            assertTrue(KUSTOMIZATION_KEYS.contains(key), file + ": unknown kustomization field '" + key + "'");
        }
        for (Object r : list(k.get("resources"))) {
            Path p = file.getParent().resolve(String.valueOf(r)).normalize();
            assertTrue(Files.isRegularFile(p) || Files.isRegularFile(p.resolve("kustomization.yaml")), file + ": resource " + r + " does not exist");
        }
        for (Object patch : list(k.get("patches"))) {
            Path p = file.getParent().resolve(String.valueOf(((Map<?, ?>) patch).get("path")));
            assertTrue(Files.isRegularFile(p), file + ": patch " + p + " does not exist");
        }
    }

    /** Collects the fields the model did not recognize (fabric8 keeps them in additionalProperties). */
    private static void unknownFields(Object o, String path, List<String> out) {
        if (o == null || !o.getClass().getPackageName().startsWith("io.fabric8")) {
            if (o instanceof Collection<?> c) {
                int i = 0;
                for (Object e : c) {
                    unknownFields(e, path + "[" + i++ + "]", out);
                }
            } else if (o instanceof Map<?, ?> m) {
                m.forEach((k, v) -> unknownFields(v, path + "." + k, out));
            }
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || m.getDeclaringClass() == Object.class || !(m.getName().startsWith("get") || m.getName().startsWith("is"))) {
                continue;
            }
            try {
                Object v = m.invoke(o);
                if (m.getName().equals("getAdditionalProperties")) {
                    if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
                        extra.keySet().forEach(k -> out.add(path + "." + k));
                    }
                } else {
                    unknownFields(v, path + "." + m.getName().replaceFirst("^(get|is)", ""), out);
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    // ---- rendered base and overlays ------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void renderedDeploymentMatchesTheService(Path variant) throws IOException {
        Map<String, Map<String, Object>> rendered = render(variant);
        DaemonSet ds = typed(rendered, "DaemonSet", DaemonSet.class);
        ConfigMap cm = typed(rendered, "ConfigMap", ConfigMap.class);
        Service svc = typed(rendered, "Service", Service.class);
        NetworkPolicy np = typed(rendered, "NetworkPolicy", NetworkPolicy.class);
        Namespace ns = typed(rendered, "Namespace", Namespace.class);
        typed(rendered, "ServiceAccount", ServiceAccount.class);
        Properties app = applicationProperties();
        int httpPort = Integer.parseInt(app.getProperty("quarkus.http.port", "8080"));
        int managementPort = Integer.parseInt(app.getProperty("quarkus.management.port", "9000"));
        assertEquals("true", app.getProperty("quarkus.management.enabled"), "health and metrics on the management interface");
        String where = variant.getFileName().toString();

        // everything lands in one namespace
        for (Map<String, Object> r : rendered.values()) {
            if (!"Namespace".equals(r.get("kind"))) {
                assertEquals("edgellm", ((Map<?, ?>) r.get("metadata")).get("namespace"), where + ": namespace of " + r.get("kind"));
            }
        }

        PodSpec pod = ds.getSpec().getTemplate().getSpec();
        Map<String, String> podLabels = ds.getSpec().getTemplate().getMetadata().getLabels();
        assertTrue(podLabels.entrySet().containsAll(ds.getSpec().getSelector().getMatchLabels().entrySet()), where + ": selector matches the pod");
        assertEquals(1, pod.getContainers().size(), where);
        Container c = pod.getContainers().getFirst();
        String image = System.getenv().getOrDefault("EDGELLM_IMAGE", c.getImage());
        assertTrue(c.getImage().equals(image) || c.getImage().matches(Pattern.quote(image) + "-[a-z0-9-]+"),
                where + ": " + c.getImage() + " is the image the build makes (" + image + ", or a driver variant of it)");
        assertTrue(pod.getNodeSelector().containsKey("edgellm.dev/enabled"), where + ": runs only on selected nodes");

        // the HTTP port, the management port and the probes on the service's health endpoints there
        assertEquals(httpPort, c.getPorts().stream().filter(p -> "http".equals(p.getName())).findFirst().orElseThrow().getContainerPort(), where + ": http port");
        assertEquals(managementPort, c.getPorts().stream().filter(p -> "management".equals(p.getName())).findFirst().orElseThrow().getContainerPort(),
                where + ": management port");
        assertEquals("/q/health", app.getProperty("quarkus.smallrye-health.root-path", "/q/health"));
        probe(where, "startup", c.getStartupProbe());
        probe(where, "readiness", c.getReadinessProbe());
        probe(where, "liveness", c.getLivenessProbe());
        assertTrue(c.getStartupProbe().getPeriodSeconds() * c.getStartupProbe().getFailureThreshold() >= 120,
                where + ": the startup probe allows minutes for model loading");

        // security: Pod Security "restricted", enforced by the namespace
        assertEquals("restricted", ns.getMetadata().getLabels().get("pod-security.kubernetes.io/enforce"), where + ": namespace enforces restricted");
        assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot(), where + ": runAsNonRoot");
        assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType(), where + ": seccomp");
        List<Container> all = new ArrayList<>(pod.getContainers());
        if (pod.getInitContainers() != null) {
            all.addAll(pod.getInitContainers());
        }
        for (Container k : all) {
            String w = where + ": container " + k.getName();
            assertEquals(Boolean.FALSE, k.getSecurityContext().getAllowPrivilegeEscalation(), w + ": allowPrivilegeEscalation");
            assertEquals(Boolean.TRUE, k.getSecurityContext().getReadOnlyRootFilesystem(), w + ": readOnlyRootFilesystem");
            assertTrue(k.getSecurityContext().getCapabilities().getDrop().contains("ALL"), w + ": capabilities dropped");
            assertFalse(Boolean.TRUE.equals(k.getSecurityContext().getPrivileged()), w + ": not privileged");
            assertNotNull(k.getResources().getLimits().get("memory"), w + ": memory limit");
        }
        assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken(), where + ": no API token");
        for (Volume v : pod.getVolumes()) {
            Map<String, Object> raw = YAML.convertValue(v, Map.class);
            raw.remove("name");
            assertTrue(RESTRICTED_VOLUMES.containsAll(raw.keySet()), where + ": volume " + v.getName() + " is " + raw.keySet()
                    + ", which Pod Security restricted forbids (no hostPath)");
        }
        // the state survives the pod: a claim, one subdirectory per node
        Volume state = pod.getVolumes().stream().filter(v -> v.getName().equals("state")).findFirst().orElseThrow();
        assertNotNull(state.getPersistentVolumeClaim(), where + ": the state volume is a claim, not an emptyDir");
        typed(rendered, "PersistentVolumeClaim", PersistentVolumeClaim.class);
        assertEquals("$(EDGELLM_NODE_ID)", c.getVolumeMounts().stream().filter(m -> m.getName().equals("state")).findFirst().orElseThrow()
                .getSubPathExpr(), where + ": each node's pod in its own directory of the claim");

        // JVM options come from the image's jvm.options; the manifests set none of their own
        for (EnvVar e : c.getEnv()) {
            assertFalse(Set.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "JAVA_OPTS").contains(e.getName()), where + ": " + e.getName()
                    + " would override jvm.options");
        }

        // the API listens on the pod address, so it has keys (a Secret mounted as the keys file); MQTT over TLS with credentials
        assertEquals("0.0.0.0", cm.getData().get("QUARKUS_HTTP_HOST"), where + ": the API is reachable in the pod network");
        String keysFile = cm.getData().get("EDGELLM_API_KEYS_FILE");
        assertNotNull(keysFile, where + ": API keys file");
        VolumeMount keys = c.getVolumeMounts().stream().filter(m -> keysFile.startsWith(m.getMountPath() + "/")).findFirst().orElseThrow();
        assertNotNull(pod.getVolumes().stream().filter(v -> v.getName().equals(keys.getName())).findFirst().orElseThrow().getSecret(),
                where + ": the keys file comes from a Secret");
        assertEquals("true", cm.getData().get("EDGELLM_MQTT_TLS_ENABLED"), where + ": MQTT over TLS");
        assertEquals("8883", cm.getData().get("EDGELLM_MQTT_PORT"), where + ": the broker's TLS port");
        assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("EDGELLM_MQTT_PASSWORD") && e.getValueFrom().getSecretKeyRef() != null),
                where + ": the MQTT password comes from a Secret");

        // configuration: every EDGELLM_* variable names a real property
        assertEquals(cm.getMetadata().getName(), c.getEnvFrom().getFirst().getConfigMapRef().getName(), where + ": envFrom the ConfigMap");
        Set<String> known = environmentVariables();
        List<String> names = new ArrayList<>(cm.getData().keySet());
        c.getEnv().forEach(e -> names.add(e.getName()));
        for (String name : names) {
            assertTrue(known.contains(name) || QUARKUS_VARIABLES.contains(name), where + ": " + name + " is not a setting of the service (known: " + known + ")");
        }

        // the model file lies under the read-only models mount
        VolumeMount models = c.getVolumeMounts().stream().filter(v -> v.getName().equals("models")).findFirst().orElseThrow();
        assertEquals(Boolean.TRUE, models.getReadOnly(), where + ": models mounted read-only");
        assertTrue(cm.getData().get("EDGELLM_MODEL_PATH").startsWith(models.getMountPath() + "/"), where + ": model under " + models.getMountPath());
        for (VolumeMount m : c.getVolumeMounts()) {
            assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getName().equals(m.getName())), where + ": volume " + m.getName() + " is defined");
        }

        // limits exist and hold the model as `edgellm fit` sizes it
        for (String kind : List.of("cpu", "memory")) {
            assertNotNull(c.getResources().getRequests().get(kind), where + ": request " + kind);
            assertNotNull(c.getResources().getLimits().get(kind), where + ": limit " + kind);
        }
        long limit = bytes(c.getResources().getLimits().get("memory"));
        assertTrue(limit >= bytes(c.getResources().getRequests().get("memory")), where + ": memory limit >= request");
        long need = fitEstimate(cm.getData());
        assertTrue(need <= limit, String.format(Locale.ROOT, "%s: the model needs %.0f MiB, the limit is %.0f MiB", where, need / 1048576.0, limit / 1048576.0));

        // the Service and the NetworkPolicy select these pods and this port
        assertTrue(podLabels.entrySet().containsAll(svc.getSpec().getSelector().entrySet()), where + ": Service selects the pods");
        assertEquals("http", svc.getSpec().getPorts().getFirst().getTargetPort().getStrVal(), where + ": Service targets the http port");
        assertTrue(podLabels.entrySet().containsAll(np.getSpec().getPodSelector().getMatchLabels().entrySet()), where + ": NetworkPolicy selects the pods");
        assertEquals(1, svc.getSpec().getPorts().size(), where + ": the Service exposes the API only");
        assertTrue(np.getSpec().getPolicyTypes().containsAll(List.of("Ingress", "Egress")), where + ": ingress and egress are both restricted");
        for (var rule : np.getSpec().getIngress()) {
            List<Integer> ports = rule.getPorts().stream().map(p -> p.getPort().getIntVal()).toList();
            assertEquals(1, ports.size(), where + ": one port per ingress rule");
            for (var peer : rule.getFrom()) {
                var nsSel = peer.getNamespaceSelector();
                assertNotNull(nsSel, where + ": every ingress peer names its namespaces");
                boolean named = nsSel.getMatchLabels() != null && nsSel.getMatchLabels().containsKey("kubernetes.io/metadata.name")
                        || nsSel.getMatchExpressions() != null && nsSel.getMatchExpressions().stream()
                                .anyMatch(e -> e.getKey().equals("kubernetes.io/metadata.name") && e.getOperator().equals("In") && !e.getValues().isEmpty());
                assertTrue(named, where + ": ingress from namespaces named by kubernetes.io/metadata.name, not any namespace: " + nsSel);
                boolean monitoring = nsSel.getMatchLabels() != null && "monitoring".equals(nsSel.getMatchLabels().get("kubernetes.io/metadata.name"));
                if (monitoring) {
                    assertEquals(List.of(managementPort), ports, where + ": monitoring reaches the management port only");
                } else {
                    assertEquals(List.of(httpPort), ports, where + ": API clients reach the API port only");
                }
            }
        }
        assertTrue(np.getSpec().getEgress().stream().flatMap(e -> e.getPorts().stream()).noneMatch(p -> p.getPort().getIntVal() == 1883),
                where + ": MQTT only over TLS");
    }

    private static void probe(String where, String kind, Probe p) {
        assertNotNull(p, where + ": " + kind + " probe");
        assertEquals(PROBE_PATHS.get(kind), p.getHttpGet().getPath(), where + ": " + kind + " probe path");
        assertEquals("management", p.getHttpGet().getPort().getStrVal(), where + ": " + kind + " probe on the management port");
    }

    /** The topic lines of one user's block of the ACL. */
    static List<String> block(List<String> acl, String user) {
        int at = acl.indexOf("user " + user);
        assertTrue(at >= 0, "the ACL has a block for " + user);
        List<String> lines = new java.util.ArrayList<>();
        for (int i = at + 1; i < acl.size() && acl.get(i).startsWith("topic "); i++) {
            lines.add(acl.get(i));
        }
        return lines;
    }

    /** The broker's ACL covers the node's own, fleet and pool requests and confines its writes to its level and the reply prefix. */
    @Test
    void theMosquittoAclConfinesEachNode() throws IOException {
        List<String> acl = Files.readAllLines(K8S.resolve("mosquitto/acl")).stream().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertTrue(acl.contains("pattern readwrite edgellm/%u/#"), "each node has its own level: " + acl);
        // mosquitto applies patterns to every user: none may grant what is not the user's own level
        assertTrue(acl.stream().filter(l -> l.startsWith("pattern")).allMatch(l -> l.contains("%u")),
                "patterns apply to every user, clients included; grant shared topics per user: " + acl);
        List<String> node = block(acl, "gw-1");
        for (String line : List.of("topic read edgellm/all/requests", "topic read edgellm/pool/requests", "topic read edgellm/pool/+/requests",
                "topic read edgellm/+/status", "topic write edgellm/replies/#", "topic write edgellm/pool/requests",
                "topic write edgellm/pool/+/requests")) {
            assertTrue(node.contains(line), "a node's block has '" + line + "': " + node);
        }
        assertTrue(node.stream().noneMatch(l -> l.contains("write edgellm/#") || l.contains("write #") || l.equals("topic write edgellm/+/requests")),
                "no node may write everywhere, or to another node's requests");
        assertEquals(List.of("topic read edgellm/+/status"), block(acl, "edgellm-operator"), "the operator reads statuses only");
        assertTrue(block(acl, "plant-hmi").stream().noneMatch(l -> l.startsWith("topic read") && l.contains("requests")), "clients read no requests");
        // MosquittoAclTest checks all of this against a real mosquitto.
        assertTrue(acl.contains("pattern write homeassistant/sensor/edgellm_%u/#"), "a node announces its own sensors: " + acl);
        assertTrue(acl.stream().filter(l -> l.startsWith("pattern") && l.contains("homeassistant")).allMatch(l -> l.contains("edgellm_%u/")),
                "a node announces only its own sensors");
        String conf = Files.readString(K8S.resolve("mosquitto/mosquitto.conf"));
        assertTrue(conf.contains("allow_anonymous false") && conf.contains("listener 8883") && conf.contains("acl_file"), conf);
        Matcher m = Pattern.compile("(?m)^max_packet_size (\\d+)").matcher(conf);
        assertTrue(m.find(), "the broker limits packet size");
        long maxPayload = 64 * 1024;
        assertTrue(Long.parseLong(m.group(1)) <= maxPayload + 2 + 65535 + 2, "no packet the node would not read can reach it");
    }

    /** What the service's own memory check will ask for with this ConfigMap's model, context and overhead. */
    private static long fitEstimate(Map<String, String> data) {
        String model = data.get("EDGELLM_MODEL_PATH");
        Matcher m = Pattern.compile("gemma-3-(\\d+(?:m|b))").matcher(model);
        String size = m.find() ? m.group(1) : "1b"; // the base's model.gguf is sized for a 1B-class file
        ModelCatalog.Entry entry = ModelCatalog.gemma3().stream().filter(e -> e.name().equals("gemma-3-" + size)).findFirst().orElseThrow();
        int ctx = Integer.parseInt(data.getOrDefault("EDGELLM_CONTEXT", "4096"));
        int batch = Integer.parseInt(data.getOrDefault("EDGELLM_BATCH", "64"));
        long overhead = bytes(new Quantity(data.getOrDefault("EDGELLM_MEMORY_RUNTIME_OVERHEAD", "96M").replace("M", "Mi")));
        return MemoryFit.estimate(entry.config(), Map.of(GgmlType.Q4_0, entry.totalWeightBytes(GgmlType.Q4_0)), ctx, batch, overhead).totalBytes();
    }

    private static long bytes(Quantity q) {
        return Quantity.getAmountInBytes(q).setScale(0, java.math.RoundingMode.UP).longValueExact();
    }

    // ---- the service's configuration, as environment variables ---------------------------------------------

    /** EDGELLM_* names of every property of the {@code edgellm} config mapping (SmallRye naming: kebab-case). */
    static Set<String> environmentVariables() {
        Set<String> props = new TreeSet<>();
        String prefix = EdgeLlmConfig.class.getAnnotation(ConfigMapping.class).prefix();
        properties(EdgeLlmConfig.class, prefix, props);
        Set<String> env = new TreeSet<>();
        for (String p : props) {
            env.add(p.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_"));
        }
        return env;
    }

    private static void properties(Class<?> group, String prefix, Set<String> out) {
        for (Method m : group.getMethods()) {
            if (m.getParameterCount() != 0 || m.isDefault() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            WithName wn = m.getAnnotation(WithName.class);
            String name = prefix + "." + (wn != null ? wn.value() : kebab(m.getName()));
            Class<?> nested = groupType(m.getGenericReturnType());
            if (nested != null) {
                properties(nested, name, out);
            } else {
                out.add(name);
            }
        }
    }

    /** The config group a method returns (directly or inside Optional), or null for a leaf. */
    private static Class<?> groupType(Type t) {
        if (t instanceof Class<?> c) {
            return c.isInterface() && c.getPackageName().startsWith("dev.edgellm") ? c : null;
        }
        if (t instanceof ParameterizedType p && p.getRawType() == Optional.class) {
            return groupType(p.getActualTypeArguments()[0]);
        }
        return null;
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    @Test
    void configMappingNamesAreKnown() {
        Set<String> env = environmentVariables();
        assertTrue(env.containsAll(Set.of("EDGELLM_MODEL_PATH", "EDGELLM_CONTEXT", "EDGELLM_BACKEND", "EDGELLM_THREADS",
                "EDGELLM_QUEUE_SIZE", "EDGELLM_LIMITS_MAX_TOKENS", "EDGELLM_MEMORY_RUNTIME_OVERHEAD")), env.toString());
    }

    // ---- a small kustomize -------------------------------------------------------------------------------------

    /** Renders a kustomization: resources (files or directories), then namespace, labels and patches. Keyed by kind/name. */
    static Map<String, Map<String, Object>> render(Path dir) throws IOException {
        Map<String, Object> k = documents(dir.resolve("kustomization.yaml")).getFirst();
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        for (Object r : list(k.get("resources"))) {
            Path p = dir.resolve(String.valueOf(r)).normalize();
            if (Files.isDirectory(p)) {
                out.putAll(render(p));
            } else {
                for (Map<String, Object> doc : documents(p)) {
                    out.put(key(doc), doc);
                }
            }
        }
        Object ns = k.get("namespace");
        for (Map<String, Object> doc : out.values()) {
            Map<String, Object> meta = map(doc, "metadata");
            if (ns != null && !"Namespace".equals(doc.get("kind"))) {
                meta.put("namespace", ns);
            }
            for (Object l : list(k.get("labels"))) {
                Map<?, ?> spec = (Map<?, ?>) l;
                Map<?, ?> pairs = (Map<?, ?>) spec.get("pairs");
                pairs.forEach((a, b) -> map(doc, "metadata", "labels").put(String.valueOf(a), b));
                if (Boolean.TRUE.equals(spec.get("includeSelectors"))) {
                    fail("includeSelectors would change immutable DaemonSet selectors; keep it false");
                }
            }
        }
        for (Object patch : list(k.get("patches"))) {
            for (Map<String, Object> doc : documents(dir.resolve(String.valueOf(((Map<?, ?>) patch).get("path"))))) {
                Map<String, Object> target = out.get(key(doc));
                assertNotNull(target, dir + ": patch for " + key(doc) + " has no target");
                merge(target, doc);
            }
        }
        return out;
    }

    /** Strategic merge as kustomize does it for these kinds: maps merge, lists of named items merge by name. */
    @SuppressWarnings("unchecked")
    static void merge(Map<String, Object> target, Map<String, Object> patch) {
        for (Map.Entry<String, Object> e : patch.entrySet()) {
            Object t = target.get(e.getKey());
            Object p = e.getValue();
            if (t instanceof Map<?, ?> tm && p instanceof Map<?, ?> pm) {
                merge((Map<String, Object>) tm, (Map<String, Object>) pm);
            } else if (t instanceof List<?> tl && p instanceof List<?> pl && named(tl) && named(pl)) {
                List<Object> merged = new ArrayList<>(tl);
                for (Object item : pl) {
                    Object name = ((Map<?, ?>) item).get("name");
                    Optional<Object> same = merged.stream().filter(x -> name.equals(((Map<?, ?>) x).get("name"))).findFirst();
                    if (same.isPresent()) {
                        merge((Map<String, Object>) same.get(), (Map<String, Object>) item);
                    } else {
                        merged.add(item);
                    }
                }
                target.put(e.getKey(), merged);
            } else {
                target.put(e.getKey(), p);
            }
        }
    }

    private static boolean named(List<?> l) {
        return !l.isEmpty() && l.stream().allMatch(x -> x instanceof Map<?, ?> m && m.get("name") != null);
    }

    private static String key(Map<String, Object> doc) {
        return doc.get("kind") + "/" + ((Map<?, ?>) doc.get("metadata")).get("name");
    }

    private static <T> T typed(Map<String, Map<String, Object>> rendered, String kind, Class<T> type) {
        List<Map<String, Object>> docs = rendered.values().stream().filter(d -> kind.equals(d.get("kind"))).toList();
        assertEquals(1, docs.size(), "exactly one " + kind);
        return YAML.convertValue(docs.getFirst(), type);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> m, String... path) {
        Map<String, Object> cur = m;
        for (String p : path) {
            cur = (Map<String, Object>) cur.computeIfAbsent(p, x -> new LinkedHashMap<String, Object>());
        }
        return cur;
    }

    private static List<?> list(Object o) {
        return o == null ? List.of() : (List<?>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> documents(Path file) throws IOException {
        List<Map<String, Object>> docs = new ArrayList<>();
        try (var it = YAML.readerFor(Map.class).readValues(file.toFile())) {
            while (it.hasNext()) {
                Object d = it.next();
                if (d != null) {
                    docs.add((Map<String, Object>) d);
                }
            }
        }
        return docs;
    }

    private static Properties applicationProperties() throws IOException {
        Properties p = new Properties();
        try (InputStream in = KubernetesManifestsTest.class.getResourceAsStream("/application.properties")) {
            p.load(in);
        }
        return p;
    }

}
