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
	Image      Image       `json:"image"`
	Signatures []Signature `json:"signatures"`
	// Attestations are the in-toto attestations that verified; Provenance
	// reads the SLSA ones among them.
	Attestations []Attestation `json:"attestations"`
	Provenance   []Provenance  `json:"provenance"`
	Findings     []Finding     `json:"findings"`
	Hygiene      []Hygiene     `json:"hygiene"`
	// Workload is the pod (or Compose service, OCI config) that runs the
	// image: the admission request's, or in a CI gate one of the
	// --context files'. Its Kind is empty when the image is judged on its
	// own.
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
	// Kind is "cosign" (the sha256-<digest>.sig tag) or "bundle" (an OCI
	// 1.1 referrer carrying a Sigstore bundle).
	Kind string `json:"kind"`
	// Signer names who signed: "key:sha256:<hex of the DER public key>"
	// for keys, the certificate's subject alternative name for keyless.
	Signer string `json:"signer"`
	// Issuer is the OIDC issuer of a keyless certificate; empty for keys.
	Issuer string `json:"issuer"`
	// KeyName is the name the verifier gave the key (its file name).
	KeyName string `json:"keyName"`
}

// Attestation is an in-toto attestation that verified against a trusted
// key or identity and names the image's digest.
type Attestation struct {
	// Kind is "attestation" (cosign's sha256-<digest>.att tag) or
	// "bundle" (a Sigstore bundle attached as an OCI 1.1 referrer, as
	// cosign 3 attaches attestations).
	Kind string `json:"kind"`
	// PredicateType is the statement's predicate type URI:
	// "https://slsa.dev/provenance/v1", "https://cyclonedx.org/bom",
	// "https://vigil.dev/attestation/scan/v1", ...
	PredicateType string `json:"predicateType"`
	// Signer and Issuer are as in Signature.
	Signer string `json:"signer"`
	Issuer string `json:"issuer"`
}

// Provenance is a verified SLSA provenance attestation.
type Provenance struct {
	BuilderID        string `json:"builderId"`
	BuildType        string `json:"buildType"`
	SourceRepository string `json:"sourceRepository"`
	SourceDigest     string `json:"sourceDigest"`
	Signer           string `json:"signer"`
}

// Finding is a vulnerability finding after triage. A finding triage or a
// VEX document suppressed is kept, with its verdict, so that a rule can
// tell "not affected" from "not found".
type Finding struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases"`
	Package string   `json:"package"`
	Version string   `json:"version"`
	// RootCause names the package the fix goes into: the source package
	// and version for distribution packages ("deb/openssl@3.0.15-1~deb12u1"),
	// the component itself otherwise.
	RootCause string `json:"rootCause"`
	Fixed     string `json:"fixed"`
	Severity  string `json:"severity"` // critical, high, medium, low, negligible, unknown
	// KEV is true when the vulnerability is in CISA's Known Exploited
	// Vulnerabilities catalogue.
	KEV bool `json:"kev"`
	// Reachable is false only when triage showed the vulnerable code cannot
	// run; unknown counts as reachable. Priority.Factors has "reachable"
	// when triage confirmed that it can.
	Reachable bool `json:"reachable"`
	// Suppressed is true when the verdict is not_affected or fixed: the
	// finding needs no action.
	Suppressed bool    `json:"suppressed"`
	Verdict    Verdict `json:"verdict"`
	// Priority is triage's ranking; zero when triage did not run.
	Priority Priority `json:"priority"`
}

// Verdict is what triage or a VEX document decided about a finding, in
// OpenVEX terms; Status is empty when nothing did.
type Verdict struct {
	// Status is "affected", "not_affected", "fixed", "under_investigation"
	// or "".
	Status string `json:"status"`
	// Justification is the OpenVEX justification of not_affected:
	// "vulnerable_code_not_in_execute_path", "component_not_present", ...
	Justification string `json:"justification"`
	// Impact says why, for a person.
	Impact string `json:"impact"`
	// By names who decided: a triage provider ("triage/backport",
	// "triage/reachability") or a VEX document ("vex:path/to/file.json").
	By string `json:"by"`
}

// Priority ranks a finding for action: the higher Score, the sooner.
type Priority struct {
	Score int `json:"score"`
	// Factors name what raised the score: "kev", "reachable" (triage
	// found the vulnerable code in the program's calls), "exposed" (the
	// deployment is reachable over the network and so is the
	// vulnerability), "fix available", "severity critical", ...
	Factors []string `json:"factors"`
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
	// Kind is the Kubernetes kind (Pod, Deployment, ...), "service" for a
	// Compose service, "oci-bundle" for an OCI runtime config, or "" for
	// none.
	Kind        string            `json:"kind"`
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
// settings are already folded in and the runtime's defaults applied, so
// rules need not know Kubernetes' inheritance rules or what Docker does
// when a Compose file says nothing.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// Init is true for init and ephemeral containers.
	Init bool `json:"init"`
	// RunAsNonRoot is the effective runAsNonRoot; for a Compose service or
	// OCI config, true when it names a user other than root by name.
	RunAsNonRoot bool `json:"runAsNonRoot"`
	// RunAsUser is the effective runAsUser (0 for a user named root);
	// -1 when unset (the image's user applies).
	RunAsUser                int64    `json:"runAsUser"`
	Privileged               bool     `json:"privileged"`
	AllowPrivilegeEscalation bool     `json:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   bool     `json:"readOnlyRootFilesystem"`
	CapabilitiesAdd          []string `json:"capabilitiesAdd"`
	CapabilitiesDrop         []string `json:"capabilitiesDrop"`
	// SeccompProfile is "RuntimeDefault", "Localhost", "Unconfined" or ""
	// when none applies (Kubernetes without a profile, an OCI config
	// without linux.seccomp). Docker's default profile is RuntimeDefault.
	SeccompProfile string `json:"seccompProfile"`
	// AppArmorProfile is "RuntimeDefault", "Localhost", "Unconfined" or "".
	AppArmorProfile string `json:"appArmorProfile"`
	// SELinuxType is the effective seLinuxOptions.type, "" when unset.
	SELinuxType string `json:"seLinuxType"`
	// Limits and Requests map resource names to quantities ("500m").
	Limits   map[string]string `json:"limits"`
	Requests map[string]string `json:"requests"`
}
