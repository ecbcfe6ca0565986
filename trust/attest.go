package trust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/vigilsec/vigil/policy"
)

// cosign's attestation format: a DSSE envelope per layer of the
// sha256-<digest>.att image, the in-toto statement as its payload.
const (
	DSSEMediaType           = types.MediaType("application/vnd.dsse.envelope.v1+json")
	InTotoPayloadType       = "application/vnd.in-toto+json"
	predicateTypeAnnotation = "predicateType"
	attestationSuffix       = ".att"
	statementType           = "https://in-toto.io/Statement/v1"
)

// Predicate types, by the short names cosign's --type accepts plus Vigil's
// own scan result.
var predicateTypes = map[string]string{
	"cyclonedx":       "https://cyclonedx.org/bom",
	"spdxjson":        "https://spdx.dev/Document",
	"slsaprovenance":  "https://slsa.dev/provenance/v0.2",
	"slsaprovenance1": "https://slsa.dev/provenance/v1",
	"openvex":         "https://openvex.dev/ns",
	"vuln":            "https://cosign.sigstore.dev/attestation/vuln/v1",
	"custom":          "https://cosign.sigstore.dev/attestation/v1",
	"vigil":           "https://vigil.dev/attestation/scan/v1",
}

// PredicateType maps a short name ("cyclonedx") to its URI; a URI is
// returned unchanged.
func PredicateType(t string) (string, error) {
	if u, ok := predicateTypes[t]; ok {
		return u, nil
	}
	if strings.HasPrefix(t, "https://") {
		return t, nil
	}
	return "", fmt.Errorf("predicate type %q: want a URI or one of cyclonedx, spdxjson, slsaprovenance, slsaprovenance1, openvex, vuln, custom, vigil", t)
}

// statement is an in-toto v1 Statement. The in-toto Go types are protobuf
// generated and pull in more than the four fields needed here.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Attest signs an in-toto statement about d with the predicate (JSON) of
// predicateType and adds it to d's .att tag, as `cosign attest` does.
func Attest(ctx context.Context, d name.Digest, s *Signer, predicateType string, predicate []byte, opts ...remote.Option) error {
	st, err := newStatement(d, predicateType, predicate)
	if err != nil {
		return fmt.Errorf("attest %s: %w", d, err)
	}
	env, err := dsse.WrapSigner(s.sv, InTotoPayloadType).SignMessage(bytes.NewReader(st))
	if err != nil {
		return fmt.Errorf("attest %s: %w", d, err)
	}
	ann := map[string]string{SignatureAnnotation: "", predicateTypeAnnotation: predicateType}
	return appendLayer(ctx, d, attestationSuffix, static.NewLayer(env, DSSEMediaType), ann, opts)
}

// newStatement is the in-toto statement, as JSON, that d has the
// predicate (JSON) of predicateType.
func newStatement(d name.Digest, predicateType string, predicate []byte) ([]byte, error) {
	if !json.Valid(predicate) {
		return nil, errors.New("predicate is not JSON")
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, err
	}
	return json.Marshal(statement{
		Type:          statementType,
		Subject:       []subject{{Name: d.Context().Name(), Digest: map[string]string{h.Algorithm: h.Hex}}},
		PredicateType: predicateType,
		Predicate:     predicate,
	})
}

// Attestation is an attestation that verified.
type Attestation struct {
	// Kind is "attestation" (a DSSE envelope in the .att tag) or
	// "bundle" (a Sigstore bundle referrer, as cosign 3 attaches them).
	Kind string
	// Key is the trusted key that verified; nil for keyless bundles.
	Key *PublicKey
	// Signer is Key.ID, or a keyless certificate's subject alternative
	// name; Issuer is the certificate's OIDC issuer.
	Signer, Issuer string
	PredicateType  string
	Predicate      json.RawMessage
}

// VerifyAttestations returns the attestations on d that verify with one of
// keys and whose statement names d's digest as a subject.
func VerifyAttestations(ctx context.Context, d name.Digest, keys []*PublicKey, opts ...remote.Option) ([]Attestation, error) {
	if len(keys) == 0 {
		return nil, errors.New("verify attestations: no trusted keys given")
	}
	layers, err := signatureLayers(ctx, d, attestationSuffix, maxAttestationBytes, opts)
	if err != nil {
		return nil, err
	}
	var ok []Attestation
	nse := &NoSignatureError{Ref: d.String()}
	for i, l := range layers {
		a, err := verifyAttestation(d, l, keys)
		if err != nil {
			nse.Rejected = append(nse.Rejected, Rejected{Layer: i, Reason: err.Error()})
			continue
		}
		ok = append(ok, *a)
	}
	if len(ok) == 0 {
		return nil, nse
	}
	return ok, nil
}

func verifyAttestation(d name.Digest, l sigLayer, keys []*PublicKey) (*Attestation, error) {
	var payload []byte
	var key *PublicKey
	for _, k := range keys {
		v := dsse.WrapVerifier(k.verifier, dsse.WithExpectedPayloadType(InTotoPayloadType), dsse.WithDecodedPayload(&payload))
		if v.VerifySignature(bytes.NewReader(l.payload), nil) == nil {
			key = k
			break
		}
	}
	if key == nil {
		return nil, errors.New("envelope does not verify with any trusted key")
	}
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, err
	}
	for _, s := range st.Subject {
		if s.Digest[h.Algorithm] == h.Hex {
			return &Attestation{Kind: "attestation", Key: key, Signer: key.ID, PredicateType: st.PredicateType, Predicate: st.Predicate}, nil
		}
	}
	return nil, fmt.Errorf("attestation by %s is not about %s", key.ID, d.DigestStr())
}

// Provenance reads the SLSA provenance fields a policy uses from a
// verified attestation; ok is false for other predicate types.
func (a Attestation) Provenance() (p policy.Provenance, ok bool) {
	p.Signer = a.Signer
	switch a.PredicateType {
	case predicateTypes["slsaprovenance"]:
		var v02 struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			BuildType  string `json:"buildType"`
			Invocation struct {
				ConfigSource struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"configSource"`
			} `json:"invocation"`
		}
		if json.Unmarshal(a.Predicate, &v02) != nil {
			return p, false
		}
		p.BuilderID, p.BuildType = v02.Builder.ID, v02.BuildType
		p.SourceRepository = v02.Invocation.ConfigSource.URI
		p.SourceDigest = firstDigest(v02.Invocation.ConfigSource.Digest)
		return p, true
	case predicateTypes["slsaprovenance1"]:
		var v1p struct {
			BuildDefinition struct {
				BuildType            string `json:"buildType"`
				ResolvedDependencies []struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
			RunDetails struct {
				Builder struct {
					ID string `json:"id"`
				} `json:"builder"`
			} `json:"runDetails"`
		}
		if json.Unmarshal(a.Predicate, &v1p) != nil {
			return p, false
		}
		p.BuilderID, p.BuildType = v1p.RunDetails.Builder.ID, v1p.BuildDefinition.BuildType
		// By SLSA's convention the first resolved dependency is the
		// source the build was started from.
		if deps := v1p.BuildDefinition.ResolvedDependencies; len(deps) > 0 {
			p.SourceRepository, p.SourceDigest = deps[0].URI, firstDigest(deps[0].Digest)
		}
		return p, true
	}
	return p, false
}

func firstDigest(m map[string]string) string {
	for _, alg := range []string{"sha1", "gitCommit", "sha256", "sha512"} {
		if v := m[alg]; v != "" {
			return alg + ":" + v
		}
	}
	return ""
}
