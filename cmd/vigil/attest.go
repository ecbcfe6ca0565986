package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/trust"
)

func init() { commands = append(commands, newAttestCmd) }

// maxPredicateBytes bounds a predicate file; a large image's CycloneDX
// SBOM is a few MiB.
const maxPredicateBytes = 32 << 20

func newAttestCmd() *cobra.Command {
	var (
		reg       registryFlags
		key       string
		predicate string
		typ       string
		bundle    bool
	)
	cmd := &cobra.Command{
		Use:   "attest IMAGE --predicate FILE --type TYPE --key cosign.key",
		Short: "Attach a signed in-toto attestation (a scan result, an SBOM, provenance) to an image",
		Long: `attest wraps the predicate (JSON) in an in-toto statement about IMAGE's digest,
signs it as a DSSE envelope, and adds it to the sha256-<digest>.att tag, as
"cosign attest" did up to cosign 2, so the result travels with the image. With
--bundle it attaches a Sigstore bundle as an OCI 1.1 referrer of the image instead,
laid out as cosign 3 attaches attestations.

TYPE is a predicate type URI or one of cyclonedx, spdxjson, slsaprovenance,
slsaprovenance1, openvex, vuln, custom, vigil. The key's password is taken from
$COSIGN_PASSWORD.`,
		Example: `  vigil sbom 127.0.0.1:5000/app:1 -o cyclonedx-json > app.cdx.json
  vigil attest 127.0.0.1:5000/app:1 --predicate app.cdx.json --type cyclonedx --key cosign.key
  vigil attest 127.0.0.1:5000/app:1 --predicate provenance.json --type slsaprovenance1 --key cosign.key --bundle`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if key == "" || predicate == "" {
				return fmt.Errorf("--key and --predicate are required")
			}
			pt, err := trust.PredicateType(typ)
			if err != nil {
				return err
			}
			f, err := os.Open(predicate)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(io.LimitReader(f, maxPredicateBytes+1))
			f.Close()
			if err != nil {
				return fmt.Errorf("read predicate: %w", err)
			}
			if len(b) > maxPredicateBytes {
				return fmt.Errorf("predicate %s: larger than %d bytes", predicate, maxPredicateBytes)
			}
			s, err := trust.LoadPrivateKey(key, []byte(os.Getenv("COSIGN_PASSWORD")))
			if err != nil {
				return err
			}
			d, err := reg.digest(ctx, args[0])
			if err != nil {
				return err
			}
			attest := trust.Attest
			if bundle {
				attest = trust.AttestBundle
			}
			if err := attest(ctx, d, s, pt, b, reg.remote(ctx)...); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "attested %s: %s, signed by %s\n", d, pt, s.Pub.ID)
			return nil
		},
	}
	reg.register(cmd.Flags())
	cmd.Flags().StringVar(&key, "key", "", "private key (cosign.key; password from $COSIGN_PASSWORD)")
	cmd.Flags().StringVar(&predicate, "predicate", "", "predicate file (JSON)")
	cmd.Flags().StringVar(&typ, "type", "custom", "predicate type: a URI or a short name")
	cmd.Flags().BoolVar(&bundle, "bundle", false, "attach a Sigstore bundle as an OCI 1.1 referrer (cosign 3's layout) instead of adding to the .att tag")
	return cmd
}
