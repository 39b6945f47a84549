package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// objects holds every document of deploy/kubernetes/*.yaml but the Helm
// values, decoded into its k8s.io/api type.
type objects struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	budgets     []*policyv1.PodDisruptionBudget
	policies    []*networkingv1.NetworkPolicy
}

// loadManifests decodes every document strictly: a field the API type does
// not have (a typo, a field at the wrong level) fails, as would a kind this
// test does not know.
func loadManifests(t *testing.T) objects {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var objs objects
	decoded := 0
	for _, file := range files {
		if filepath.Base(file) == "nats-values.yaml" {
			continue // Helm values, not an object
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---\n")) {
			doc = append(doc, '\n') // the split took it
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s, document %d: %v", file, i+1, err)
			}
			var obj any
			switch meta.APIVersion + " " + meta.Kind {
			case "apps/v1 Deployment":
				d := new(appsv1.Deployment)
				objs.deployments, obj = append(objs.deployments, d), d
			case "v1 Service":
				s := new(corev1.Service)
				objs.services, obj = append(objs.services, s), s
			case "v1 ConfigMap":
				c := new(corev1.ConfigMap)
				objs.configMaps, obj = append(objs.configMaps, c), c
			case "policy/v1 PodDisruptionBudget":
				b := new(policyv1.PodDisruptionBudget)
				objs.budgets, obj = append(objs.budgets, b), b
			case "networking.k8s.io/v1 NetworkPolicy":
				p := new(networkingv1.NetworkPolicy)
				objs.policies, obj = append(objs.policies, p), p
			default:
				t.Fatalf("%s, document %d: %q %q is not a kind this test checks", file, i+1, meta.APIVersion, meta.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s, document %d (%s): %v", file, i+1, meta.Kind, err)
			}
			decoded++
		}
	}
	if decoded < 7 {
		t.Fatalf("decoded %d documents in deploy/kubernetes, want the replicas, HAProxy and their services and budgets", decoded)
	}
	return objs
}

func TestManifestsDecodeStrictly(t *testing.T) {
	t.Parallel()
	loadManifests(t)
}

// TestStrictDecodingFails makes sure the strict decoding above would catch
// a misspelt field: a test that cannot fail is no test.
func TestStrictDecodingFails(t *testing.T) {
	t.Parallel()
	doc := []byte("apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 3\n")
	if err := yaml.UnmarshalStrict(doc, new(appsv1.Deployment)); err == nil {
		t.Error("a Deployment with spec.replica decoded without error")
	}
}

func find[T any](t *testing.T, items []*T, name string, nameOf func(*T) string) *T {
	t.Helper()
	for _, item := range items {
		if nameOf(item) == name {
			return item
		}
	}
	t.Fatalf("no %T named %q in deploy/kubernetes", *new(T), name)
	return nil
}

// TestReplicas checks what docs/operations.md promises of the replicas:
// readiness on the notes service, liveness on the whole server, both over
// gRPC on the RPC port; the image's non-root user; resource requests; a
// budget that keeps two of three.
func TestReplicas(t *testing.T) {
	t.Parallel()
	objs := loadManifests(t)
	d := find(t, objs.deployments, "routeguide", func(d *appsv1.Deployment) string { return d.Name })
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("routeguide replicas = %v, want 3, as task cluster runs", d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	ready, live := c.ReadinessProbe, c.LivenessProbe
	if ready == nil || ready.GRPC == nil || ready.GRPC.Service == nil || *ready.GRPC.Service != "routeguide.notes.v1.NotesService" {
		t.Errorf("readinessProbe = %+v, want gRPC on service routeguide.notes.v1.NotesService", ready)
	}
	if live == nil || live.GRPC == nil || (live.GRPC.Service != nil && *live.GRPC.Service != "") {
		t.Errorf("livenessProbe = %+v, want gRPC on service \"\"", live)
	}
	for _, p := range []*corev1.Probe{ready, live} {
		if p != nil && p.GRPC != nil && p.GRPC.Port != 50051 {
			t.Errorf("probe on port %d, want 50051", p.GRPC.Port)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("routeguide requests %v, want cpu and memory", c.Resources.Requests)
	}
	sc := d.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65532 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod securityContext = %+v, want runAsNonRoot and user 65532, the image's", sc)
	}
	if !slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--notes=nats://") }) ||
		!slices.Contains(c.Args, "--notes-replicas=3") {
		t.Errorf("routeguide args = %q, want --notes on NATS with --notes-replicas=3", c.Args)
	}
	for name, labels := range map[string]map[string]string{
		"routeguide":         d.Spec.Template.Labels,
		"routeguide-haproxy": find(t, objs.deployments, "routeguide-haproxy", func(d *appsv1.Deployment) string { return d.Name }).Spec.Template.Labels,
	} {
		b := find(t, objs.budgets, name, func(b *policyv1.PodDisruptionBudget) string { return b.Name })
		selector, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if !selector.Matches(k8slabels.Set(labels)) {
			t.Errorf("PodDisruptionBudget %s selects %v, which misses the pods of %s (%v)", name, selector, name, labels)
		}
	}
	replicas := find(t, objs.services, "routeguide-replicas", func(s *corev1.Service) string { return s.Name })
	if replicas.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("routeguide-replicas clusterIP = %q, want None: HAProxy needs every pod's address", replicas.Spec.ClusterIP)
	}
}

// TestClientAddresses checks how the replicas learn a client's address,
// by which they charge anonymous writes: HAProxy sends it in a PROXY v2
// header, on health checks too (a replica refuses a trusted peer's v1),
// drops a client's own X-Forwarded-For, the replicas trust the pod network,
// and only HAProxy's pods may reach their RPC port.
func TestClientAddresses(t *testing.T) {
	t.Parallel()
	objs := loadManifests(t)
	d := find(t, objs.deployments, "routeguide", func(d *appsv1.Deployment) string { return d.Name })
	if args := d.Spec.Template.Spec.Containers[0].Args; !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--trusted-proxies=") }) {
		t.Errorf("routeguide args = %q, want --trusted-proxies", args)
	}
	cfg := find(t, objs.configMaps, "routeguide-haproxy", func(c *corev1.ConfigMap) string { return c.Name }).Data["haproxy.cfg"]
	for _, want := range []string{"http-request del-header x-forwarded-for", "http-check connect proto h2 send-proxy\n"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
	for line := range strings.Lines(cfg) {
		if strings.Contains(line, "default-server") && !strings.Contains(line, "send-proxy-v2") {
			t.Errorf("haproxy.cfg: %q sends no PROXY v2 header", strings.TrimSpace(line))
		}
	}

	p := find(t, objs.policies, "routeguide", func(p *networkingv1.NetworkPolicy) string { return p.Name })
	selects, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !selects.Matches(k8slabels.Set(d.Spec.Template.Labels)) {
		t.Errorf("NetworkPolicy routeguide selects %v, which misses the replicas (%v)", selects, d.Spec.Template.Labels)
	}
	haproxy := find(t, objs.deployments, "routeguide-haproxy", func(d *appsv1.Deployment) string { return d.Name }).Spec.Template.Labels
	for _, rule := range p.Spec.Ingress {
		for _, port := range rule.Ports {
			if port.Port == nil || port.Port.IntValue() != 50051 {
				continue
			}
			if len(rule.From) == 0 {
				t.Error("NetworkPolicy routeguide opens port 50051 to every peer")
			}
			for _, from := range rule.From {
				if from.PodSelector == nil {
					t.Errorf("NetworkPolicy routeguide opens port 50051 to %+v, not to HAProxy's pods alone", from)
					continue
				}
				s, err := metav1.LabelSelectorAsSelector(from.PodSelector)
				if err != nil {
					t.Fatal(err)
				}
				if !s.Matches(k8slabels.Set(haproxy)) || s.Empty() {
					t.Errorf("NetworkPolicy routeguide opens port 50051 to pods %v, want HAProxy's (%v) alone", s, haproxy)
				}
			}
		}
	}
}

// TestHAProxyConfig has HAProxy check the configuration of the ConfigMap,
// which HAProxy would otherwise refuse only once deployed.
func TestHAProxyConfig(t *testing.T) {
	t.Parallel()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if haproxy, err = exec.LookPath("/usr/sbin/haproxy"); err != nil {
			t.Skip("skipping: haproxy not installed (apt-get install haproxy)")
		}
	}
	objs := loadManifests(t)
	cm := find(t, objs.configMaps, "routeguide-haproxy", func(c *corev1.ConfigMap) string { return c.Name })
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(cm.Data["haproxy.cfg"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), haproxy, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c on the ConfigMap's haproxy.cfg: %v\n%s", err, out)
	}
}

// TestNATSValues checks the Helm values as YAML with the keys the chart's
// 1.x layout reads: the chart itself is not rendered here.
func TestNATSValues(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("kubernetes/nats-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Config struct {
			Cluster struct {
				Enabled  bool `json:"enabled"`
				Replicas int  `json:"replicas"`
			} `json:"cluster"`
			JetStream struct {
				Enabled   bool `json:"enabled"`
				FileStore struct {
					Enabled bool `json:"enabled"`
					PVC     struct {
						Enabled bool   `json:"enabled"`
						Size    string `json:"size"`
					} `json:"pvc"`
				} `json:"fileStore"`
				MemoryStore struct {
					Enabled bool `json:"enabled"`
				} `json:"memoryStore"`
			} `json:"jetstream"`
		} `json:"config"`
	}
	if err := yaml.UnmarshalStrict(data, &values); err != nil {
		t.Fatalf("nats-values.yaml: %v", err)
	}
	c := values.Config
	if got := fmt.Sprint(c.Cluster.Enabled, c.Cluster.Replicas, c.JetStream.Enabled, c.JetStream.FileStore.Enabled); got != "true 3 true true" {
		t.Errorf("nats-values.yaml: cluster enabled, replicas, JetStream, file store = %s, want true 3 true true", got)
	}
}
