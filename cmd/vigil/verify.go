package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/trust"
)

func init() { commands = append(commands, newVerifyCmd) }

// registryFlags are the flags of commands that read or write signatures
// in a registry: signatures live there, so these take registry references
// only.
type registryFlags struct {
	insecure bool
}

func (f *registryFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS for the registry (loopback test registries)")
}

func (f *registryFlags) remote(ctx context.Context) []remote.Option {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if f.insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(tr)}
}

// digest resolves ref (a registry reference, "registry:" optional) to the
// digest it names now: signatures sign digests, never tags.
func (f *registryFlags) digest(ctx context.Context, ref string) (name.Digest, error) {
	ref = strings.TrimPrefix(ref, "registry:")
	var opts []name.Option
	if f.insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s: %w (signatures live in a registry; give a registry reference)", ref, err)
	}
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(r, f.remote(ctx)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolve %s: %w", ref, err)
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// trustFlags say whom to trust: keys, or a keyless identity under a
// trusted root.
type trustFlags struct {
	keys                       []string
	identity, issuer, rootFile string
}

func (f *trustFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.keys, "key", nil, "trusted public key (PEM, as cosign.pub); repeat for several")
	fs.StringVar(&f.identity, "certificate-identity", "", "keyless: the signing certificate's identity (subject alternative name)")
	fs.StringVar(&f.issuer, "certificate-oidc-issuer", "", "keyless: the signing certificate's OIDC issuer")
	fs.StringVar(&f.rootFile, "trusted-root", "", "keyless: Sigstore trusted root (trusted_root.json); verification is offline against it")
}

func (f *trustFlags) set() bool {
	return len(f.keys) > 0 || f.identity != "" || f.issuer != "" || f.rootFile != ""
}

func (f *trustFlags) load() ([]*trust.PublicKey, *trust.Keyless, error) {
	var keys []*trust.PublicKey
	for _, p := range f.keys {
		k, err := trust.LoadPublicKey(p)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
	}
	if f.identity == "" && f.issuer == "" && f.rootFile == "" {
		if len(keys) == 0 {
			return nil, nil, errors.New("no --key or --certificate-identity given: Vigil verifies against keys and identities you trust, never against what the registry offers")
		}
		return keys, nil, nil
	}
	if f.identity == "" || f.issuer == "" || f.rootFile == "" {
		return nil, nil, errors.New("keyless verification needs --certificate-identity, --certificate-oidc-issuer and --trusted-root")
	}
	tr, err := trust.LoadTrustedRoot(f.rootFile)
	if err != nil {
		return nil, nil, err
	}
	return keys, &trust.Keyless{Root: tr, Identity: f.identity, Issuer: f.issuer}, nil
}

func newVerifyCmd() *cobra.Command {
	var (
		reg          registryFlags
		tf           trustFlags
		output       string
		attestations bool
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE --key cosign.pub",
		Short: "Check that an image carries a valid signature from a trusted key",
		Long: `verify looks up the cosign signatures of IMAGE (the sha256-<digest>.sig tag in its
repository) and checks each against the trusted public keys. A signature counts only
when it verifies with one of the keys and names IMAGE's digest. Verification is
offline apart from the registry: no transparency log is consulted for key signatures.

Exit codes: 0 verified, 1 no valid signature (each candidate's reason is printed),
2 an error (unreachable registry, unreadable key).`,
		Example: `  vigil verify ghcr.io/acme/api:1.4 --key cosign.pub
  vigil verify 127.0.0.1:5000/app@sha256:... --key team-a.pub --key team-b.pub -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ks, keyless, err := tf.load()
			if err != nil {
				return err
			}
			d, err := reg.digest(ctx, args[0])
			if err != nil {
				return err
			}
			var sigs []trust.Verified
			var atts []trust.Attestation
			if attestations {
				atts, err = trust.VerifyImageAttestations(ctx, d, ks, keyless, reg.remote(ctx)...)
			} else {
				sigs, err = trust.VerifyImage(ctx, d, ks, keyless, reg.remote(ctx)...)
			}
			var nse *trust.NoSignatureError
			if errors.As(err, &nse) {
				fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %v\n", err)
				return errPolicy
			}
			if err != nil {
				return err
			}
			return printVerified(cmd, output, d, sigs, atts)
		},
	}
	reg.register(cmd.Flags())
	tf.register(cmd.Flags())
	cmd.Flags().BoolVar(&attestations, "attestations", false, "verify the image's in-toto attestations (the sha256-<digest>.att tag, and Sigstore bundle referrers as cosign 3 attaches them) instead of its signatures")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func printVerified(cmd *cobra.Command, output string, d name.Digest, sigs []trust.Verified, atts []trust.Attestation) error {
	out := cmd.OutOrStdout()
	switch output {
	case "json":
		type sig struct {
			Kind        string         `json:"kind"`
			Signer      string         `json:"signer"`
			Issuer      string         `json:"issuer,omitempty"`
			Key         string         `json:"key,omitempty"`
			Claimed     string         `json:"claimedReference,omitempty"`
			Annotations map[string]any `json:"annotations,omitempty"`
		}
		type att struct {
			Kind          string          `json:"kind"`
			PredicateType string          `json:"predicateType"`
			Signer        string          `json:"signer"`
			Issuer        string          `json:"issuer,omitempty"`
			Predicate     json.RawMessage `json:"predicate"`
		}
		doc := map[string]any{"image": d.String()}
		if atts != nil {
			var list []att
			for _, a := range atts {
				list = append(list, att{a.Kind, a.PredicateType, a.Signer, a.Issuer, a.Predicate})
			}
			doc["attestations"] = list
		} else {
			var list []sig
			for _, s := range sigs {
				list = append(list, sig{s.Kind, s.Signer, s.Issuer, keyName(s), s.Claimed, s.Annotations})
			}
			doc["signatures"] = list
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case "text":
		if atts != nil {
			fmt.Fprintf(out, "%s: %d valid attestation(s)\n", d, len(atts))
			for _, a := range atts {
				if a.Key != nil {
					fmt.Fprintf(out, "  %s %s signed by %s (%s)\n", a.Kind, a.PredicateType, a.Key.Name, a.Signer)
				} else {
					fmt.Fprintf(out, "  %s %s signed by %s (issuer %s)\n", a.Kind, a.PredicateType, a.Signer, a.Issuer)
				}
			}
			return nil
		}
		fmt.Fprintf(out, "%s: %d valid signature(s)\n", d, len(sigs))
		for _, s := range sigs {
			if s.Key != nil {
				fmt.Fprintf(out, "  %s signature by %s (%s)\n", s.Kind, s.Key.Name, s.Signer)
			} else {
				fmt.Fprintf(out, "  %s signature by %s (issuer %s)\n", s.Kind, s.Signer, s.Issuer)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown output %q (text or json)", output)
}

func keyName(v trust.Verified) string {
	if v.Key == nil {
		return ""
	}
	return v.Key.Name
}
