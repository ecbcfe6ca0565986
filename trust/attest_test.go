package trust

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
)

func TestAttest(t *testing.T) {
	host := testimage.Registry(t)
	signer, pub := loadPair(t, "")
	_, otherPub := loadPair(t, "")
	ctx := t.Context()
	img := pushRandom(t, host, "app:1")
	other := pushRandom(t, host, "app:2")

	slsa := `{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1",
	  "externalParameters":{"workflow":{"ref":"refs/heads/main","repository":"https://github.com/acme/api"}},
	  "resolvedDependencies":[{"uri":"git+https://github.com/acme/api@refs/heads/main","digest":{"gitCommit":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"}}]},
	 "runDetails":{"builder":{"id":"https://github.com/actions/runner/github-hosted"}}}`
	bom := `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"zlib","version":"1.3"}]}`
	slsaType, _ := PredicateType("slsaprovenance1")
	bomType, _ := PredicateType("cyclonedx")
	if err := Attest(ctx, img, signer, slsaType, []byte(slsa)); err != nil {
		t.Fatal(err)
	}
	if err := Attest(ctx, img, signer, bomType, []byte(bom)); err != nil {
		t.Fatal(err)
	}
	got, err := VerifyAttestations(ctx, img, []*PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].PredicateType != slsaType || got[1].PredicateType != bomType {
		t.Fatalf("attestations %+v", got)
	}
	p, ok := got[0].Provenance()
	if !ok || p.BuilderID != "https://github.com/actions/runner/github-hosted" ||
		p.BuildType != "https://actions.github.io/buildtypes/workflow/v1" ||
		p.SourceRepository != "git+https://github.com/acme/api@refs/heads/main" ||
		p.SourceDigest != "gitCommit:7fd1a60b01f91b314f59955a4e4d4e80d8edf11d" || p.Signer != pub.ID {
		t.Errorf("provenance %+v", p)
	}
	if _, ok := got[1].Provenance(); ok {
		t.Error("a CycloneDX predicate read as provenance")
	}
	var b struct{ Components []struct{ Name string } }
	if err := json.Unmarshal(got[1].Predicate, &b); err != nil || len(b.Components) != 1 || b.Components[0].Name != "zlib" {
		t.Errorf("predicate did not round-trip: %s", got[1].Predicate)
	}

	if _, err := VerifyAttestations(ctx, img, []*PublicKey{otherPub}); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("untrusted key: %v", err)
	}
	copyTag(t, img, other, attestationSuffix)
	if _, err := VerifyAttestations(ctx, other, []*PublicKey{pub}); err == nil || !strings.Contains(err.Error(), "is not about") {
		t.Errorf("attestation for another digest: %v", err)
	}
	if err := Attest(ctx, img, signer, bomType, []byte("{not json")); err == nil {
		t.Error("attested a predicate that is not JSON")
	}
	if _, err := PredicateType("sbom"); err == nil {
		t.Error("unknown short predicate type accepted")
	}
}
