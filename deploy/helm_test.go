package deploy

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const (
	chartDir        = "helm/nexus"
	chartTestValues = "helm/nexus/ci/test-values.yaml"
	helmInstall     = "GOBIN=/some/dir go install helm.sh/helm/v3/cmd/helm@v3.22.0"
	configDir       = "/etc/nexus"
	configFile      = "/etc/nexus/nexus.toml"
)

// The parts of the rendered manifests the tests read.
type (
	k8sObject struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec       yaml.Node         `yaml:"spec"`
		Data       map[string]string `yaml:"data"`
		StringData map[string]string `yaml:"stringData"`
	}
	labelSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	deploymentSpec struct {
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	}
	podSpec struct {
		TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
			RunAsUser    *int  `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		Containers []container `yaml:"containers"`
		Volumes    []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name string `yaml:"name"`
			} `yaml:"configMap"`
		} `yaml:"volumes"`
	}
	container struct {
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		EnvFrom []struct {
			SecretRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Env []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		Lifecycle      struct {
			PreStop struct {
				Sleep struct {
					Seconds int `yaml:"seconds"`
				} `yaml:"sleep"`
			} `yaml:"preStop"`
		} `yaml:"lifecycle"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
				Add  []string `yaml:"add"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			SubPath   string `yaml:"subPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"`
		} `yaml:"httpGet"`
	}
	serviceSpec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	}
	pdbSpec struct {
		MinAvailable   any           `yaml:"minAvailable"`
		MaxUnavailable any           `yaml:"maxUnavailable"`
		Selector       labelSelector `yaml:"selector"`
	}
	hpaSpec struct {
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas int `yaml:"minReplicas"`
		MaxReplicas int `yaml:"maxReplicas"`
	}
	serviceMonitorSpec struct {
		Selector  labelSelector `yaml:"selector"`
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
	}
)

// manifests is one helm template run, objects by kind.
type manifests map[string][]k8sObject

// one returns the only object of kind and decodes its spec into spec.
func (m manifests) one(t *testing.T, kind string, spec any) k8sObject {
	t.Helper()
	objs := m[kind]
	require.Len(t, objs, 1, "want one %s", kind)
	if spec != nil {
		require.NoError(t, objs[0].Spec.Decode(spec), kind)
	}
	return objs[0]
}

func helmBinary(t *testing.T) string {
	return requireTool(t, "helm", "HELM", helmInstall)
}

func renderChart(t *testing.T, helm string, args ...string) manifests {
	t.Helper()
	out := run(t, time.Minute, helm, append([]string{"template", "nx", chartDir, "--namespace", "llm"}, args...)...)
	m := manifests{}
	for _, doc := range yamlDocs(t, out) {
		var o k8sObject
		require.NoError(t, doc.Decode(&o))
		m[o.Kind] = append(m[o.Kind], o)
	}
	return m
}

func TestHelmLint(t *testing.T) {
	t.Parallel()
	helm := helmBinary(t)
	for _, values := range []string{"", chartTestValues} {
		args := []string{"lint", "--strict", chartDir}
		if values != "" {
			args = append(args, "-f", values)
		}
		run(t, time.Minute, helm, args...)
	}
}

func TestHelmTemplate(t *testing.T) {
	t.Parallel()
	helm := helmBinary(t)
	cases := []struct {
		name string
		args []string
		// secret is the Secret the pods read their environment from
		// ("" = none); created says whether the chart renders it.
		secret   string
		created  bool
		hpa      bool
		replicas int
		pdb      map[string]any
		monitor  bool
	}{
		{name: "defaults", replicas: 2, pdb: map[string]any{"maxUnavailable": 1}},
		{name: "ci values", args: []string{"-f", chartTestValues}, secret: "nx-nexus", created: true, hpa: true,
			pdb: map[string]any{"minAvailable": 2}, monitor: true},
		{name: "existing secret", args: []string{"--set", "secret.existingSecret=my-keys"}, secret: "my-keys",
			replicas: 2, pdb: map[string]any{"maxUnavailable": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := renderChart(t, helm, tc.args...)
			var dep deploymentSpec
			deploy := m.one(t, "Deployment", &dep)
			pod := dep.Template.Spec
			require.Len(t, pod.Containers, 1)
			c := pod.Containers[0]

			// Port, Service and selectors.
			require.Len(t, c.Ports, 1)
			assert.Equal(t, "http", c.Ports[0].Name)
			port := c.Ports[0].ContainerPort
			assert.Equal(t, 8000, port)
			var svc serviceSpec
			service := m.one(t, "Service", &svc)
			require.Len(t, svc.Ports, 1)
			assert.Equal(t, 8000, svc.Ports[0].Port)
			assert.Equal(t, "http", svc.Ports[0].TargetPort)
			assert.Equal(t, dep.Selector.MatchLabels, svc.Selector)
			assertSubset(t, dep.Selector.MatchLabels, dep.Template.Metadata.Labels, "pod labels")

			// Probes: liveness /health, readiness /ready, on the named port.
			require.NotNil(t, c.LivenessProbe)
			require.NotNil(t, c.LivenessProbe.HTTPGet)
			assert.Equal(t, "/health", c.LivenessProbe.HTTPGet.Path)
			assert.Equal(t, "http", c.LivenessProbe.HTTPGet.Port)
			require.NotNil(t, c.ReadinessProbe)
			require.NotNil(t, c.ReadinessProbe.HTTPGet)
			assert.Equal(t, "/ready", c.ReadinessProbe.HTTPGet.Path)
			assert.Equal(t, "http", c.ReadinessProbe.HTTPGet.Port)

			// The ConfigMap, mounted as a directory (no subPath, so the
			// kubelet's symlink swap reaches the gateway's file watch).
			cm := m.one(t, "ConfigMap", nil)
			toml, ok := cm.Data["nexus.toml"]
			require.True(t, ok, "ConfigMap has nexus.toml")
			assert.Equal(t, []string{"serve", "--config", configFile}, c.Args)
			volume := ""
			for _, v := range pod.Volumes {
				if v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name {
					volume = v.Name
				}
			}
			require.NotEmpty(t, volume, "a volume holds ConfigMap %s", cm.Metadata.Name)
			mounted := false
			for _, vm := range c.VolumeMounts {
				if vm.Name == volume {
					mounted = true
					assert.Equal(t, configDir, vm.MountPath)
					assert.Empty(t, vm.SubPath, "a subPath mount never sees ConfigMap updates")
					assert.True(t, vm.ReadOnly)
				}
			}
			assert.True(t, mounted, "the config volume is mounted")

			// securityContext.
			require.NotNil(t, pod.SecurityContext.RunAsNonRoot)
			assert.True(t, *pod.SecurityContext.RunAsNonRoot)
			require.NotNil(t, pod.SecurityContext.RunAsUser)
			assert.NotZero(t, *pod.SecurityContext.RunAsUser)
			sc := c.SecurityContext
			require.NotNil(t, sc.ReadOnlyRootFilesystem)
			assert.True(t, *sc.ReadOnlyRootFilesystem)
			require.NotNil(t, sc.AllowPrivilegeEscalation)
			assert.False(t, *sc.AllowPrivilegeEscalation)
			assert.Equal(t, []string{"ALL"}, sc.Capabilities.Drop)
			assert.Empty(t, sc.Capabilities.Add)
			assert.NotEmpty(t, c.Resources.Requests["cpu"])
			assert.NotEmpty(t, c.Resources.Requests["memory"])
			assert.NotEmpty(t, c.Resources.Limits["memory"])

			// Rolling updates never take a ready replica away first.
			assert.Equal(t, "RollingUpdate", dep.Strategy.Type)
			assert.Equal(t, 0, dep.Strategy.RollingUpdate.MaxUnavailable)

			// The Secret, as the environment.
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			var refs []string
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					refs = append(refs, ef.SecretRef.Name)
				}
			}
			if tc.secret == "" {
				assert.Empty(t, refs)
			} else {
				assert.Equal(t, []string{tc.secret}, refs)
			}
			if tc.created {
				s := m.one(t, "Secret", nil)
				assert.Equal(t, tc.secret, s.Metadata.Name)
				require.NotEmpty(t, s.StringData)
				maps.Copy(env, s.StringData)
			} else {
				assert.Empty(t, m["Secret"])
			}

			// The rendered nexus.toml is what the pod runs: it loads with
			// the pod's environment without a warning (every api_key_env
			// and key_env is provided), listens on the container port, and
			// drains within the grace period.
			cfg, warnings := loadNexusConfig(t, toml, env)
			if tc.secret == "" || tc.created {
				assert.Empty(t, warnings)
			}
			assert.Equal(t, port, cfg.Server.Port, "server.port = containerPort")
			assert.Equal(t, "0.0.0.0", cfg.Server.Host)
			drain := cfg.Server.ShutdownTimeout + time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second
			assert.Less(t, drain, time.Duration(pod.TerminationGracePeriodSeconds)*time.Second,
				"preStop sleep + shutdown_timeout fit in terminationGracePeriodSeconds")

			// HorizontalPodAutoscaler, or a fixed replica count.
			if tc.hpa {
				var hpa hpaSpec
				m.one(t, "HorizontalPodAutoscaler", &hpa)
				assert.Equal(t, "Deployment", hpa.ScaleTargetRef.Kind)
				assert.Equal(t, deploy.Metadata.Name, hpa.ScaleTargetRef.Name)
				assert.Less(t, hpa.MinReplicas, hpa.MaxReplicas)
				assert.Nil(t, dep.Replicas, "the HPA owns the replica count")
			} else {
				assert.Empty(t, m["HorizontalPodAutoscaler"])
				require.NotNil(t, dep.Replicas)
				assert.Equal(t, tc.replicas, *dep.Replicas)
			}

			// PodDisruptionBudget over the same pods.
			var pdb pdbSpec
			m.one(t, "PodDisruptionBudget", &pdb)
			assert.Equal(t, dep.Selector.MatchLabels, pdb.Selector.MatchLabels)
			for k, v := range tc.pdb {
				got := map[string]any{"minAvailable": pdb.MinAvailable, "maxUnavailable": pdb.MaxUnavailable}[k]
				assert.Equal(t, v, got, k)
			}

			// ServiceMonitor, when enabled, scrapes /metrics on the Service.
			if tc.monitor {
				var sm serviceMonitorSpec
				m.one(t, "ServiceMonitor", &sm)
				assertSubset(t, sm.Selector.MatchLabels, service.Metadata.Labels, "service labels")
				require.Len(t, sm.Endpoints, 1)
				assert.Equal(t, "http", sm.Endpoints[0].Port)
				assert.Equal(t, "/metrics", sm.Endpoints[0].Path)
			} else {
				assert.Empty(t, m["ServiceMonitor"])
			}
			kinds := slices.Sorted(maps.Keys(m))
			t.Logf("rendered: %v", kinds)
		})
	}
}

// assertSubset checks that every label of sub is in super with the same
// value.
func assertSubset(t *testing.T, sub, super map[string]string, what string) {
	t.Helper()
	require.NotEmpty(t, sub)
	for k, v := range sub {
		assert.Equal(t, v, super[k], "%s: %s", what, k)
	}
}
