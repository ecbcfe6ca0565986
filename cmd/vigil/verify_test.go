package main

import (
	"crypto/elliptic"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/policy"
)

// cosignKeys writes a key pair as `cosign generate-key-pair` does, with an
// empty password, and returns the two paths.
func cosignKeys(t *testing.T) (priv, pub string) {
	t.Helper()
	privPEM, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(priv, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestSignVerifyPolicyCLI runs the trust commands as a user would: sign,
// verify, then gate on a policy, checking exit codes and messages.
func TestSignVerifyPolicyCLI(t *testing.T) {
	t.Setenv("COSIGN_PASSWORD", "")
	host := testimage.Registry(t)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf.Config.User = "1000"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	testimage.Push(t, host, "app:1", img)
	ref := host + "/app:1"
	priv, pub := cosignKeys(t)
	_, otherPub := cosignKeys(t)

	if out, errs, code := vigil(t, "verify", ref, "--key", pub); code != exitPolicy || !strings.Contains(errs, "no signatures found") {
		t.Fatalf("unsigned: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := vigil(t, "sign", ref, "--key", priv, "-a", "scanned-by=vigil"); code != exitOK {
		t.Fatalf("sign: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code := vigil(t, "verify", ref, "--key", pub, "-o", "json")
	if code != exitOK {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	var res struct {
		Signatures []struct {
			Signer      string            `json:"signer"`
			Annotations map[string]string `json:"annotations"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Signatures) != 1 || res.Signatures[0].Annotations["scanned-by"] != "vigil" {
		t.Fatalf("verify output %s (%v)", out, err)
	}
	signer := res.Signatures[0].Signer
	if _, errs, code := vigil(t, "verify", ref, "--key", otherPub); code != exitPolicy || !strings.Contains(errs, "does not verify with any trusted key") {
		t.Fatalf("untrusted key: exit %d %s", code, errs)
	}
	if _, errs, code := vigil(t, "sign", ref, "--key", pub); code != exitError || !strings.Contains(errs, "private key") {
		t.Fatalf("signing with a public key: exit %d %s", code, errs)
	}

	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(pol, "rules:\n  - use: required-signer\n    params: {signers: ["+signer+"]}\n  - use: non-root\n  - use: digest-pinning\n")
	record := filepath.Join(dir, "input.json")
	out, errs, code = vigil(t, "policy", "eval", ref, "--policy", pol, "--key", pub, "--record", record)
	if code != exitPolicy || !strings.Contains(out, "DENY  digest-pinning") || strings.Contains(out, "required-signer") || strings.Contains(out, "non-root") {
		t.Fatalf("policy eval by tag: exit %d\n%s%s", code, out, errs)
	}
	f, err := os.Open(record)
	if err != nil {
		t.Fatal(err)
	}
	in, err := policy.ReadInput(f)
	f.Close()
	if err != nil || len(in.Signatures) != 1 || in.Signatures[0].Signer != signer {
		t.Fatalf("recorded input %+v, %v", in, err)
	}
	// Provenance attested with vigil attest reaches the policy.
	prov := filepath.Join(dir, "prov.json")
	write(prov, `{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1","resolvedDependencies":[{"uri":"git+https://github.com/acme/api","digest":{"gitCommit":"7fd1a60b"}}]},"runDetails":{"builder":{"id":"https://github.com/actions/runner"}}}`)
	if out, errs, code := vigil(t, "attest", ref, "--key", priv, "--predicate", prov, "--type", "slsaprovenance1"); code != exitOK {
		t.Fatalf("attest: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := vigil(t, "verify", ref, "--key", pub, "--attestations"); code != exitOK || !strings.Contains(out, "https://slsa.dev/provenance/v1 signed by cosign.pub") {
		t.Fatalf("verify --attestations: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := vigil(t, "verify", ref, "--key", otherPub, "--attestations"); code != exitPolicy || !strings.Contains(errs, "does not verify") {
		t.Fatalf("verify --attestations with another key: exit %d %s", code, errs)
	}
	if _, errs, code := vigil(t, "verify", ref, "--certificate-identity", "me@example.com"); code != exitError || !strings.Contains(errs, "--trusted-root") {
		t.Fatalf("incomplete keyless flags: exit %d %s", code, errs)
	}
	provPol := filepath.Join(dir, "prov.yaml")
	write(provPol, "rules:\n  - name: built-by-actions\n    action: deny\n    expression: input.provenance.exists(p, p.builderId == \"https://github.com/actions/runner\" && p.sourceRepository == \"git+https://github.com/acme/api\")\n")
	if out, errs, code := vigil(t, "policy", "eval", ref, "--policy", provPol, "--key", pub); code != exitOK {
		t.Fatalf("provenance policy with the key: exit %d\n%s%s", code, out, errs)
	}
	if out, _, code := vigil(t, "policy", "eval", ref, "--policy", provPol, "--key", otherPub); code != exitPolicy {
		t.Fatalf("provenance from an untrusted key counted: exit %d\n%s", code, out)
	}

	// Without the key there is no verified signature.
	out, _, code = vigil(t, "policy", "eval", ref, "--policy", pol)
	if code != exitPolicy || !strings.Contains(out, "DENY  required-signer: image has no verified signature") {
		t.Fatalf("policy eval without key: exit %d\n%s", code, out)
	}

	// The recorded input replays in a policy test.
	suite := filepath.Join(dir, "suite.yaml")
	write(suite, "policy: policy.yaml\ncases:\n  - name: tag\n    input: input.json\n    denied: [digest-pinning]\n")
	if out, errs, code := vigil(t, "policy", "test", suite); code != exitOK {
		t.Fatalf("policy test: exit %d\n%s%s", code, out, errs)
	}
	write(suite, "policy: policy.yaml\ncases:\n  - name: tag\n    input: input.json\n    denied: []\n")
	if out, _, code := vigil(t, "policy", "test", suite); code != exitPolicy || !strings.Contains(out, "FAIL") {
		t.Fatalf("failing policy test: exit %d\n%s", code, out)
	}
	write(pol, "rules:\n  - name: r\n    action: deny\n    expression: input.image.nope\n")
	if _, errs, code := vigil(t, "policy", "eval", "--input", record, "--policy", pol); code != exitError || !strings.Contains(errs, "policy.yaml:4:") {
		t.Fatalf("bad policy: exit %d %s", code, errs)
	}
}

// TestAttestBundleCLI attaches provenance as cosign 3 does (a Sigstore
// bundle referrer) with `vigil attest --bundle` and checks that verify and
// the policy read it as an attestation, never as a signature.
func TestAttestBundleCLI(t *testing.T) {
	t.Setenv("COSIGN_PASSWORD", "")
	host := testimage.Registry(t)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	testimage.Push(t, host, "api:1", img)
	ref := host + "/api:1"
	priv, pub := cosignKeys(t)
	_, otherPub := cosignKeys(t)
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	prov := write("prov.json", `{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1","resolvedDependencies":[{"uri":"git+https://github.com/acme/api","digest":{"gitCommit":"7fd1a60b"}}]},"runDetails":{"builder":{"id":"https://github.com/actions/runner"}}}`)
	if out, errs, code := vigil(t, "attest", ref, "--key", priv, "--predicate", prov, "--type", "slsaprovenance1", "--bundle"); code != exitOK {
		t.Fatalf("attest --bundle: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code := vigil(t, "verify", ref, "--key", pub, "--attestations", "-o", "json")
	var res struct {
		Attestations []struct {
			Kind, PredicateType string
			Predicate           json.RawMessage
		}
	}
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || len(res.Attestations) != 1 || res.Attestations[0].Kind != "bundle" ||
		res.Attestations[0].PredicateType != "https://slsa.dev/provenance/v1" || !strings.Contains(string(res.Attestations[0].Predicate), "actions/runner") {
		t.Fatalf("verify --attestations: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := vigil(t, "verify", ref, "--key", pub); code != exitPolicy || !strings.Contains(errs, "not a signature") {
		t.Fatalf("an attestation bundle verified as a signature: exit %d %s", code, errs)
	}
	if _, errs, code := vigil(t, "verify", ref, "--key", otherPub, "--attestations"); code != exitPolicy || !strings.Contains(errs, "bundle:") {
		t.Fatalf("verify --attestations with another key: exit %d %s", code, errs)
	}
	pol := write("policy.yaml", "rules:\n  - name: built-by-actions\n    action: deny\n    expression: input.provenance.exists(p, p.builderId == \"https://github.com/actions/runner\")\n"+
		"  - name: provenance-attested\n    action: deny\n    expression: input.attestations.exists(a, a.kind == \"bundle\" && a.predicateType == \"https://slsa.dev/provenance/v1\")\n")
	record := filepath.Join(dir, "input.json")
	if out, errs, code := vigil(t, "policy", "eval", ref, "--policy", pol, "--key", pub, "--record", record); code != exitOK {
		t.Fatalf("policy with the key: exit %d\n%s%s", code, out, errs)
	}
	f, err := os.Open(record)
	if err != nil {
		t.Fatal(err)
	}
	in, err := policy.ReadInput(f)
	f.Close()
	if err != nil || len(in.Signatures) != 0 || len(in.Attestations) != 1 || len(in.Provenance) != 1 {
		t.Fatalf("recorded input %+v, %v", in, err)
	}
	if out, _, code := vigil(t, "policy", "eval", ref, "--policy", pol, "--key", otherPub); code != exitPolicy || !strings.Contains(out, "DENY  provenance-attested") {
		t.Fatalf("an attestation from an untrusted key counted: exit %d\n%s", code, out)
	}
}
