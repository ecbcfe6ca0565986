package trust

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigilsec/vigil/internal/testimage"
)

// provenanceV1 is a SLSA v1 provenance predicate as GitHub's builders
// write it, cut to the fields a policy reads and a number that a structpb
// round trip would turn into a float.
const provenanceV1 = `{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1",` +
	`"externalParameters":{"workflow":{"ref":"refs/heads/main","repository":"https://github.com/acme/api","path":".github/workflows/release.yml"}},` +
	`"resolvedDependencies":[{"uri":"git+https://github.com/acme/api@refs/heads/main","digest":{"gitCommit":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"}}]},` +
	`"runDetails":{"builder":{"id":"https://github.com/actions/runner/github-hosted"},"metadata":{"invocationId":"https://github.com/acme/api/actions/runs/9876543210/attempts/1"}}}`

// TestAttestBundle attaches attestations in cosign 3's layout with
// AttestBundle and reads them back, on the in-process registry with the
// referrers API (which reports a referrer's config media type as its
// artifact type) and without it (the referrers tag fallback).
func TestAttestBundle(t *testing.T) {
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "fallback tag"}[api], func(t *testing.T) {
			srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(api)))
			t.Cleanup(srv.Close)
			testAttestBundle(t, strings.TrimPrefix(srv.URL, "http://"))
		})
	}
}

func testAttestBundle(t *testing.T, host string) {
	ctx := t.Context()
	signer, pub := loadPair(t, "")
	_, untrusted := loadPair(t, "")
	img := pushRandom(t, host, "api:1")
	other := pushRandom(t, host, "api:2")

	if err := AttestBundle(ctx, img, signer, predicateTypes["slsaprovenance1"], []byte(provenanceV1)); err != nil {
		t.Fatal(err)
	}
	if err := AttestBundle(ctx, img, signer, predicateTypes["cyclonedx"], []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`)); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, img)

	atts, err := VerifyBundleAttestations(ctx, img, []*PublicKey{untrusted, pub}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 {
		t.Fatalf("verified %d attestations, want 2: %+v", len(atts), atts)
	}
	var prov *Attestation
	for i := range atts {
		if a := &atts[i]; a.Kind != "bundle" || a.Signer != pub.ID || a.Key != pub {
			t.Errorf("attestation %+v", a)
		}
		if atts[i].PredicateType == predicateTypes["slsaprovenance1"] {
			prov = &atts[i]
		}
	}
	if prov == nil {
		t.Fatal("no provenance among the attestations")
	}
	if string(prov.Predicate) != provenanceV1 {
		t.Errorf("predicate is not what was signed:\n%s", prov.Predicate)
	}
	p, ok := prov.Provenance()
	if !ok || p.BuilderID != "https://github.com/actions/runner/github-hosted" || p.SourceRepository != "git+https://github.com/acme/api@refs/heads/main" ||
		p.SourceDigest != "gitCommit:7fd1a60b01f91b314f59955a4e4d4e80d8edf11d" || p.Signer != pub.ID {
		t.Errorf("provenance %+v", p)
	}

	// Attestations are not signatures of the image.
	var nse *NoSignatureError
	if _, err := VerifyBundles(ctx, img, []*PublicKey{pub}, nil); !errors.As(err, &nse) || !strings.Contains(err.Error(), "not a signature") {
		t.Errorf("an attestation counted as a signature: %v", err)
	}
	if _, err := VerifyBundleAttestations(ctx, img, []*PublicKey{untrusted}, nil); !errors.As(err, &nse) {
		t.Errorf("verified with an untrusted key: %v", err)
	}

	// The policy's view: one referrers read gives signatures and
	// attestations, with the provenance read from them.
	if err := Sign(ctx, img, signer, nil); err != nil {
		t.Fatal(err)
	}
	ev, err := Gather(ctx, img, []*PublicKey{pub}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Signatures) != 1 || len(ev.Attestations) != 2 || len(ev.Provenance) != 1 || ev.Provenance[0].BuilderID != p.BuilderID {
		t.Errorf("evidence %+v", ev)
	}

	// A bundle moved to another image does not name it.
	raw := referrerBundle(t, img, predicateTypes["cyclonedx"])
	ann := map[string]string{bundleContentAnnotation: "dsse-envelope", bundlePredicateTypeAnnotation: predicateTypes["cyclonedx"]}
	if err := writeReferrer(ctx, other, BundleArtifactType, static.NewLayer(raw, BundleArtifactType), ann, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundleAttestations(ctx, other, []*PublicKey{pub}, nil); !errors.As(err, &nse) {
		t.Errorf("a bundle about another digest verified: %v", err)
	}
}

// TestBundleAnnotationsNotTrusted attaches an SBOM attestation whose
// unsigned referrer annotation claims it is cosign's image signature: it
// must still not count as one.
func TestBundleAnnotationsNotTrusted(t *testing.T) {
	host := testimage.Registry(t)
	ctx := t.Context()
	kp, pub := ephemeralKey(t)
	img := pushRandom(t, host, "app:1")
	st, err := newStatement(img, predicateTypes["cyclonedx"], []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: st, PayloadType: InTotoPayloadType}, kp, sign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	lie := map[string]string{bundleContentAnnotation: "dsse-envelope", bundlePredicateTypeAnnotation: cosignSignPredicate}
	if err := writeReferrer(ctx, img, BundleArtifactType, static.NewLayer(b, BundleArtifactType), lie, nil); err != nil {
		t.Fatal(err)
	}
	if sigs, err := VerifyBundles(ctx, img, []*PublicKey{pub}, nil); err == nil {
		t.Fatalf("an SBOM attestation labelled a signature verified as one: %+v", sigs)
	}
	atts, err := VerifyBundleAttestations(ctx, img, []*PublicKey{pub}, nil)
	if err != nil || len(atts) != 1 || atts[0].PredicateType != predicateTypes["cyclonedx"] {
		t.Fatalf("attestations %+v, %v", atts, err)
	}
}

// checkLayout checks that d's bundle referrers are laid out as cosign 3's
// (cosign's pkg/oci/remote WriteAttestationNewBundleFormat).
func checkLayout(t *testing.T, d name.Digest) {
	t.Helper()
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) == 0 {
		t.Fatal("no referrers")
	}
	for _, desc := range im.Manifests {
		img, err := remote.Image(d.Context().Digest(desc.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m.ArtifactType != BundleArtifactType || m.Config.MediaType != emptyMediaType || m.Config.Size != 2 ||
			len(m.Layers) != 1 || m.Layers[0].MediaType != BundleArtifactType ||
			m.Layers[0].Annotations["org.opencontainers.image.title"] != "sha256-"+m.Layers[0].Digest.Hex+".sigstore.json" ||
			m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() ||
			m.Annotations[bundleContentAnnotation] != "dsse-envelope" || !strings.HasPrefix(m.Annotations[bundlePredicateTypeAnnotation], "https://") ||
			m.Annotations["org.opencontainers.image.created"] == "" {
			t.Errorf("referrer is not laid out as cosign 3's:\n%s", raw)
		}
	}
}

// referrerBundle returns the bundle of d's referrer with predicateType.
func referrerBundle(t *testing.T, d name.Digest, predicateType string) []byte {
	t.Helper()
	raws, err := referredBundles(t.Context(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		var b struct {
			DSSE struct {
				Payload []byte `json:"payload"` // base64, as encoding/json reads []byte
			} `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b.DSSE.Payload), `"predicateType":"`+predicateType+`"`) {
			return raw
		}
	}
	t.Fatalf("no bundle of %s on %s", predicateType, d)
	return nil
}
