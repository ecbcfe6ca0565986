package policy

// Input is the one document every rule sees as the CEL variable `input`.
// Field names in expressions are the json names below. Everything a rule
// reads must be here, so that a recorded Input (JSON) replays a decision
// exactly: `vigil policy test` depends on it.
//
// Absent data is the zero value (empty string, false, 0 or an empty list),
// never a missing key, so a rule can be type-checked once and never fails
// at run time on a field that was not filled in. Fields where zero is a
// meaningful value say how "unknown" is spelled.
type Input struct {
	Image      Image        `json:"image"`
	Signatures []Signature  `json:"signatures"`
	Provenance []Provenance `json:"provenance"`
	Findings   []Finding    `json:"findings"`
	Hygiene    []Hygiene    `json:"hygiene"`
	// Workload is the pod (or compose service, OCI config) that runs the
	// image; its Kind is empty when the image is judged on its own, as in
	// a CI gate.
	Workload Workload `json:"workload"`
	// Container is the workload's container that runs this image; empty
	// when Workload is.
	Container Container `json:"container"`
}

// Image is what the image itself says.
type Image struct {
	// Ref is the reference as written (tag or digest); Digest the manifest
	// digest it resolved to ("sha256:...").
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	// Registry is the registry host ("index.docker.io", "ghcr.io",
	// "127.0.0.1:5000"); Repository the path within it.
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	// Pinned is true when Ref itself names a digest, so what runs cannot
	// change under it.
	Pinned bool `json:"pinned"`
	// AgeDays is whole days since the config's created time; -1 when the
	// image has no (or a zero, as reproducible builds write) created time.
	AgeDays int    `json:"ageDays"`
	Config  Config `json:"config"`
}

// Config is the part of the image config a policy needs.
type Config struct {
	// User is the config's User as written ("", "0", "root", "1000:1000").
	User string `json:"user"`
	// NonRoot is true when User names a user other than root by number or
	// by a name other than "root"; an empty User runs as root.
	NonRoot      bool              `json:"nonRoot"`
	Labels       map[string]string `json:"labels"`
	Env          []string          `json:"env"`
	ExposedPorts []string          `json:"exposedPorts"`
	OS           string            `json:"os"`
	Architecture string            `json:"architecture"`
}

// Signature is one signature or attestation signature that verified
// against a trusted key or identity. Unverified signatures are not listed:
// a rule can only ever see trust that was established.
type Signature struct {
	// Kind is "cosign" (the sha256-<digest>.sig tag), "bundle" (an OCI 1.1
	// referrer carrying a Sigstore bundle) or "attestation".
	Kind string `json:"kind"`
	// Signer names who signed: "key:sha256:<hex of the DER public key>"
	// for keys, the certificate's subject alternative name for keyless.
	Signer string `json:"signer"`
	// Issuer is the OIDC issuer of a keyless certificate; empty for keys.
	Issuer string `json:"issuer"`
	// KeyName is the name the verifier gave the key (its file name).
	KeyName string `json:"keyName"`
}

// Provenance is a verified SLSA provenance attestation.
type Provenance struct {
	BuilderID        string `json:"builderId"`
	BuildType        string `json:"buildType"`
	SourceRepository string `json:"sourceRepository"`
	SourceDigest     string `json:"sourceDigest"`
	Signer           string `json:"signer"`
}

// Finding is a vulnerability finding after triage.
type Finding struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Package  string   `json:"package"`
	Version  string   `json:"version"`
	Fixed    string   `json:"fixed"`
	Severity string   `json:"severity"` // critical, high, medium, low, unknown
	// KEV is true when the vulnerability is in CISA's Known Exploited
	// Vulnerabilities catalogue.
	KEV bool `json:"kev"`
	// Reachable is false only when triage showed the vulnerable code
	// cannot run; unknown counts as reachable.
	Reachable bool `json:"reachable"`
	// Verdict is the triage verdict in OpenVEX terms: "affected",
	// "not_affected", "fixed", "under_investigation"; empty when untriaged.
	Verdict       string `json:"verdict"`
	Justification string `json:"justification"`
}

// Hygiene is a hygiene issue (hygiene.Issue without its evidence).
type Hygiene struct {
	Rule     string `json:"rule"` // "vigil/secret", "vigil/personal-email", ...
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Path     string `json:"path"`
	Field    string `json:"field"`
}

// Workload is the normalised form of what runs the image.
type Workload struct {
	Kind        string            `json:"kind"` // Pod, Deployment, ..., or "" for none
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations"`
	Labels      map[string]string `json:"labels"`
	HostNetwork bool              `json:"hostNetwork"`
	HostPID     bool              `json:"hostPID"`
	HostIPC     bool              `json:"hostIPC"`
	Containers  []Container       `json:"containers"`
}

// Container is one container with its effective security context: pod-level
// settings are already folded in, so rules need not know Kubernetes'
// inheritance rules.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// Init is true for init and ephemeral containers.
	Init bool `json:"init"`
	// RunAsNonRoot is the effective runAsNonRoot.
	RunAsNonRoot bool `json:"runAsNonRoot"`
	// RunAsUser is the effective runAsUser; -1 when unset (the image's
	// user applies).
	RunAsUser                int64    `json:"runAsUser"`
	Privileged               bool     `json:"privileged"`
	AllowPrivilegeEscalation bool     `json:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   bool     `json:"readOnlyRootFilesystem"`
	CapabilitiesAdd          []string `json:"capabilitiesAdd"`
	CapabilitiesDrop         []string `json:"capabilitiesDrop"`
	// SeccompProfile is "RuntimeDefault", "Localhost", "Unconfined" or ""
	// when unset.
	SeccompProfile string `json:"seccompProfile"`
	// AppArmorProfile is "RuntimeDefault", "Localhost", "Unconfined" or "".
	AppArmorProfile string `json:"appArmorProfile"`
	// SELinuxType is the effective seLinuxOptions.type, "" when unset.
	SELinuxType string `json:"seLinuxType"`
	// Limits and Requests map resource names to quantities ("500m").
	Limits   map[string]string `json:"limits"`
	Requests map[string]string `json:"requests"`
}
