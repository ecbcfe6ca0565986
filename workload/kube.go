package workload

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
)

// appArmorAnnotation is the pre-1.30 way to give a container an AppArmor
// profile; kubelets still honour it when the field is absent.
const appArmorAnnotation = "container.apparmor.security.beta.kubernetes.io/"

// podTemplate says where a kind keeps its pod template.
type podTemplate struct {
	path string // field path of the pod spec
	// spec decodes the document and returns its metadata, the pod spec
	// and the annotations of the pod template.
	spec func(data []byte) (metav1.ObjectMeta, *corev1.PodSpec, map[string]string, error)
}

func template[T any](get func(*T) (metav1.ObjectMeta, *corev1.PodTemplateSpec)) func([]byte) (metav1.ObjectMeta, *corev1.PodSpec, map[string]string, error) {
	return func(data []byte) (metav1.ObjectMeta, *corev1.PodSpec, map[string]string, error) {
		var obj T
		if err := decodeKube(data, &obj); err != nil {
			return metav1.ObjectMeta{}, nil, nil, err
		}
		meta, tpl := get(&obj)
		return meta, &tpl.Spec, tpl.Annotations, nil
	}
}

var kinds = map[string]podTemplate{
	"Pod": {"spec", func(data []byte) (metav1.ObjectMeta, *corev1.PodSpec, map[string]string, error) {
		var p corev1.Pod
		if err := decodeKube(data, &p); err != nil {
			return metav1.ObjectMeta{}, nil, nil, err
		}
		return p.ObjectMeta, &p.Spec, p.Annotations, nil
	}},
	"PodTemplate": {"template.spec", template(func(o *corev1.PodTemplate) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Template
	})},
	"ReplicationController": {"spec.template.spec", template(func(o *corev1.ReplicationController) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		if o.Spec.Template == nil {
			return o.ObjectMeta, &corev1.PodTemplateSpec{}
		}
		return o.ObjectMeta, o.Spec.Template
	})},
	"Deployment": {"spec.template.spec", template(func(o *appsv1.Deployment) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})},
	"StatefulSet": {"spec.template.spec", template(func(o *appsv1.StatefulSet) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})},
	"DaemonSet": {"spec.template.spec", template(func(o *appsv1.DaemonSet) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})},
	"ReplicaSet": {"spec.template.spec", template(func(o *appsv1.ReplicaSet) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})},
	"Job": {"spec.template.spec", template(func(o *batchv1.Job) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})},
	"CronJob": {"spec.jobTemplate.spec.template.spec", template(func(o *batchv1.CronJob) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template
	})},
}

// decodeKube decodes an object as the API server does: field names are
// case-sensitive, so "HostNetwork" is not hostNetwork and a manifest cannot
// say one thing to Vigil and another to the cluster. (Keys repeated in the
// YAML are resolved by the YAML to JSON conversion, last one wins, as
// kubectl resolves them.)
func decodeKube(data []byte, v any) error {
	return kjson.UnmarshalCaseSensitivePreserveInts(data, v)
}

// parseKube decodes every document of a manifest; List items are decoded
// as documents of their own.
func parseKube(name string, docs []document, warn func(error)) ([]Workload, error) {
	var out []Workload
	for _, d := range docs {
		var tm metav1.TypeMeta
		if err := decodeKube(d.json, &tm); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, d.index, err)
		}
		if tm.Kind == "" {
			return nil, fmt.Errorf("%s: document %d: no kind", name, d.index)
		}
		if strings.HasSuffix(tm.Kind, "List") {
			var l struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := decodeKube(d.json, &l); err != nil {
				return nil, fmt.Errorf("%s: document %d (%s): %w", name, d.index, tm.Kind, err)
			}
			for i, item := range l.Items {
				ws, err := kubeObject(name, fmt.Sprintf("document %d items[%d]", d.index, i), item, warn)
				if err != nil {
					return nil, err
				}
				out = append(out, ws...)
			}
			continue
		}
		ws, err := kubeObject(name, fmt.Sprintf("document %d", d.index), d.json, warn)
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

// kubeObject decodes one object; where names it in errors. Lists inside
// lists are not a thing kubectl writes, so they are skipped like any kind
// without a pod.
func kubeObject(name, where string, data []byte, warn func(error)) ([]Workload, error) {
	var tm metav1.TypeMeta
	if err := decodeKube(data, &tm); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, where, err)
	}
	k, ok := kinds[tm.Kind]
	if !ok {
		warn(fmt.Errorf("%s: %s: kind %q %s has no pod template; skipped", name, where, tm.Kind, tm.APIVersion))
		return nil, nil
	}
	meta, spec, annotations, err := k.spec(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %s (%s): %w", name, where, tm.Kind, err)
	}
	w := fromPodSpec(tm.Kind, meta.Namespace, meta.Name, k.path, spec, annotations)
	w.Source = name + "#" + w.Source
	return []Workload{w}, nil
}

// FromPodSpec builds the workload of a pod spec, as the admission webhook
// receives it; annotations are the pod's (or pod template's).
func FromPodSpec(kind, namespace, name string, spec corev1.PodSpec, annotations map[string]string) Workload {
	path := "spec"
	if k, ok := kinds[kind]; ok {
		path = k.path
	}
	return fromPodSpec(kind, namespace, name, path, &spec, annotations)
}

func fromPodSpec(kind, namespace, name, path string, spec *corev1.PodSpec, annotations map[string]string) Workload {
	id := kind + "/" + name
	if namespace != "" {
		id = kind + "/" + namespace + "/" + name
	}
	w := Workload{
		Source:      id,
		Format:      FormatKubernetes,
		Kind:        kind,
		Name:        name,
		Namespace:   namespace,
		Path:        path,
		HostNetwork: spec.HostNetwork,
		HostPID:     spec.HostPID,
		HostIPC:     spec.HostIPC,
		// hostUsers defaults to true: no user namespace.
		UserNamespace: spec.HostUsers != nil && !*spec.HostUsers,
	}
	if spec.HostNetwork {
		w.Network = NetworkHost
	}
	volumes := map[string]corev1.Volume{}
	hostVolume := map[string]int{} // name to index in w.Volumes
	for i, v := range spec.Volumes {
		volumes[v.Name] = v
		if v.HostPath != nil {
			hostVolume[v.Name] = len(w.Volumes)
			w.Volumes = append(w.Volumes, Volume{
				Name:     v.Name,
				HostPath: v.HostPath.Path,
				ReadOnly: true, // until a writable mount says otherwise
				Field:    fmt.Sprintf("%s.volumes[%d].hostPath.path", path, i),
			})
		}
	}
	mounted := map[string]bool{}
	add := func(list []corev1.Container, field string, init bool) {
		for i := range list {
			c := kubeContainer(&list[i], fmt.Sprintf("%s.%s[%d]", path, field, i), path, spec.SecurityContext, annotations, volumes)
			c.Init = init
			for _, m := range list[i].VolumeMounts {
				if j, ok := hostVolume[m.Name]; ok {
					mounted[m.Name] = true
					if !m.ReadOnly {
						w.Volumes[j].ReadOnly = false
					}
				}
			}
			w.Containers = append(w.Containers, c)
		}
	}
	add(spec.InitContainers, "initContainers", true)
	add(spec.Containers, "containers", false)
	// A hostPath volume no container mounts still reaches the node when a
	// container is added later (kubectl debug); keep it, but it is only
	// read-only when some mount says so.
	for i := range w.Volumes {
		if !mounted[w.Volumes[i].Name] {
			w.Volumes[i].ReadOnly = false
		}
	}
	return w
}

// kubeContainer merges the pod securityContext into the container's, as the
// kubelet does: a container value wins, the pod value fills what the
// container leaves unset.
func kubeContainer(k *corev1.Container, cpath, podPath string, pod *corev1.PodSecurityContext, annotations map[string]string, volumes map[string]corev1.Volume) Container {
	c := Container{Name: k.Name, Image: k.Image, Path: cpath}
	podField := func(a Attr, f string) { set(&c.Set, a, podPath+".securityContext."+f) }
	if pod != nil {
		if pod.RunAsUser != nil {
			c.RunAsUser = pod.RunAsUser
			podField(AttrUser, "runAsUser")
		}
		c.RunAsGroup = pod.RunAsGroup
		if pod.RunAsNonRoot != nil {
			c.RunAsNonRoot = pod.RunAsNonRoot
			podField(AttrRunAsNonRoot, "runAsNonRoot")
		}
		if s := selinux(pod.SELinuxOptions); s != "" {
			c.SELinux = s
			podField(AttrSELinux, "seLinuxOptions")
		}
		if s := kubeProfile(pod.SeccompProfile); s != "" {
			c.Seccomp = s
			podField(AttrSeccomp, "seccompProfile")
		}
		if s := kubeAppArmor(pod.AppArmorProfile); s != "" {
			c.AppArmor = s
			podField(AttrAppArmor, "appArmorProfile")
		}
	}
	if a, ok := annotations[appArmorAnnotation+k.Name]; ok {
		c.AppArmor = annotationProfile(a)
		// The annotations sit next to the pod spec: "spec.template.metadata".
		set(&c.Set, AttrAppArmor, strings.TrimSuffix(podPath, "spec")+"metadata.annotations["+appArmorAnnotation+k.Name+"]")
	}
	if sc := k.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			c.RunAsUser = sc.RunAsUser
			delete(c.Set, AttrUser)
		}
		if sc.RunAsGroup != nil {
			c.RunAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			c.RunAsNonRoot = sc.RunAsNonRoot
			delete(c.Set, AttrRunAsNonRoot)
		}
		if s := selinux(sc.SELinuxOptions); s != "" {
			c.SELinux = s
			delete(c.Set, AttrSELinux)
		}
		if s := kubeProfile(sc.SeccompProfile); s != "" {
			c.Seccomp = s
			delete(c.Set, AttrSeccomp)
		}
		if s := kubeAppArmor(sc.AppArmorProfile); s != "" {
			c.AppArmor = s
			delete(c.Set, AttrAppArmor)
		}
		c.Privileged = sc.Privileged
		c.AllowPrivilegeEscalation = sc.AllowPrivilegeEscalation
		c.ReadOnlyRootFilesystem = sc.ReadOnlyRootFilesystem
		if sc.Capabilities != nil {
			c.CapAdd = capNames(sc.Capabilities.Add)
			c.CapDrop = capNames(sc.Capabilities.Drop)
		}
	}
	if c.RunAsUser != nil {
		c.User = strconv.FormatInt(*c.RunAsUser, 10)
	}
	if len(c.Set) == 0 {
		c.Set = nil
	}
	r := k.Resources
	c.Resources = Resources{
		CPURequest:    quantity(r.Requests, corev1.ResourceCPU),
		CPULimit:      quantity(r.Limits, corev1.ResourceCPU),
		MemoryRequest: quantity(r.Requests, corev1.ResourceMemory),
		MemoryLimit:   quantity(r.Limits, corev1.ResourceMemory),
	}
	for i, p := range k.Ports {
		port := Port{Port: p.ContainerPort, Protocol: strings.ToLower(string(p.Protocol)), HostIP: p.HostIP, Field: fmt.Sprintf("%s.ports[%d]", cpath, i)}
		if port.Protocol == "" {
			port.Protocol = "tcp"
		}
		if p.HostPort != 0 {
			port.HostPort = strconv.Itoa(int(p.HostPort))
		}
		c.Ports = append(c.Ports, port)
	}
	for _, e := range k.Env {
		c.Env = append(c.Env, e.Name)
	}
	for i, m := range k.VolumeMounts {
		mt := Mount{Type: "volume", Source: m.Name, Destination: m.MountPath, ReadOnly: m.ReadOnly, Field: fmt.Sprintf("%s.volumeMounts[%d]", cpath, i)}
		if v, ok := volumes[m.Name]; ok {
			mt.Type = volumeType(v)
			if v.HostPath != nil {
				mt.Source = v.HostPath.Path
			}
		}
		c.Mounts = append(c.Mounts, mt)
	}
	return c
}

// volumeType names a volume's source the way the API does ("hostPath",
// "emptyDir"): the JSON name of its one set source field. It reads the
// struct rather than round-tripping it through JSON because the admission
// webhook calls it for every mount of every pod it judges.
func volumeType(v corev1.Volume) string {
	src := reflect.ValueOf(v.VolumeSource)
	for i := range src.NumField() {
		if f := src.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(src.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return "volume"
}

func quantity(l corev1.ResourceList, name corev1.ResourceName) string {
	if q, ok := l[name]; ok {
		return q.String()
	}
	return ""
}

func selinux(o *corev1.SELinuxOptions) string {
	if o == nil {
		return ""
	}
	var parts []string
	for _, kv := range [][2]string{{"user", o.User}, {"role", o.Role}, {"type", o.Type}, {"level", o.Level}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+":"+kv[1])
		}
	}
	return strings.Join(parts, ",")
}

func kubeProfile(p *corev1.SeccompProfile) string {
	if p == nil {
		return ""
	}
	return profile(string(p.Type), p.LocalhostProfile)
}

func kubeAppArmor(p *corev1.AppArmorProfile) string {
	if p == nil {
		return ""
	}
	return profile(string(p.Type), p.LocalhostProfile)
}

func profile(typ string, local *string) string {
	if typ == ProfileLocalhost && local != nil {
		return ProfileLocalhost + ":" + *local
	}
	return typ
}

// annotationProfile converts the annotation's "runtime/default",
// "localhost/<name>" and "unconfined" to profile values.
func annotationProfile(v string) string {
	switch {
	case v == "runtime/default":
		return ProfileRuntimeDefault
	case v == "unconfined":
		return ProfileUnconfined
	case strings.HasPrefix(v, "localhost/"):
		return ProfileLocalhost + ":" + strings.TrimPrefix(v, "localhost/")
	}
	return v
}

func capNames[T ~string](caps []T) []string {
	if len(caps) == 0 {
		return nil
	}
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_")
	}
	return out
}
