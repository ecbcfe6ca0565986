package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/trust"
)

func init() { commands = append(commands, newSignCmd) }

func newSignCmd() *cobra.Command {
	var (
		reg         registryFlags
		key         string
		annotations []string
	)
	cmd := &cobra.Command{
		Use:   "sign IMAGE --key cosign.key",
		Short: "Sign an image the way cosign does, so cosign and Vigil can verify it",
		Long: `sign resolves IMAGE to its digest, signs a cosign simple-signing payload for it with
the private key, and adds the signature to the sha256-<digest>.sig tag in IMAGE's
repository, beside any signatures already there.

The key is read as cosign writes it (cosign generate-key-pair); its password is
taken from $COSIGN_PASSWORD (which may be empty, as for cosign).`,
		Example: `  COSIGN_PASSWORD= vigil sign 127.0.0.1:5000/app:1.4 --key cosign.key -a scanned-by=vigil`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if key == "" {
				return fmt.Errorf("--key is required")
			}
			s, err := trust.LoadPrivateKey(key, []byte(os.Getenv("COSIGN_PASSWORD")))
			if err != nil {
				return err
			}
			ann := map[string]any{}
			for _, a := range annotations {
				k, v, ok := strings.Cut(a, "=")
				if !ok || k == "" {
					return fmt.Errorf("annotation %q: want key=value", a)
				}
				ann[k] = v
			}
			if len(ann) == 0 {
				ann = nil // cosign writes "optional": null when there are none
			}
			d, err := reg.digest(ctx, args[0])
			if err != nil {
				return err
			}
			if err := trust.Sign(ctx, d, s, ann, reg.remote(ctx)...); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s with %s (%s)\n", d, key, s.Pub.ID)
			return nil
		},
	}
	reg.register(cmd.Flags())
	cmd.Flags().StringVar(&key, "key", "", "private key (cosign.key; password from $COSIGN_PASSWORD)")
	cmd.Flags().StringArrayVarP(&annotations, "annotation", "a", nil, "key=value added to the signed payload's optional section")
	return cmd
}
