package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/policy"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/trust"
)

func init() { commands = append(commands, newPolicyCmd) }

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Evaluate and test CEL policies",
		Long: `A policy is a YAML list of rules. Each rule is a CEL expression over one input
(the image and its digest, registry, signatures, provenance, findings with triage
verdicts, hygiene issues, image config and the workload's security context) that
must be true, with the action "deny" or "warn". Bundled rules are switched on
with "- use: NAME"; "vigil policy rules" lists them.`,
	}
	cmd.AddCommand(newPolicyEvalCmd(), newPolicyTestCmd(), newPolicyRulesCmd())
	return cmd
}

func newPolicyEvalCmd() *cobra.Command {
	var (
		reg        registryFlags
		policyFile string
		inputFile  string
		record     string
		tf         trustFlags
		output     string
	)
	cmd := &cobra.Command{
		Use:   "eval [IMAGE] --policy policy.yaml",
		Short: "Evaluate a policy against an image or a recorded input; exit 1 on deny",
		Example: `  vigil policy eval ghcr.io/acme/api:1.4 --policy policy.yaml --key cosign.pub
  vigil policy eval --policy policy.yaml --input recorded.json
  vigil policy eval docker-archive:app.tar --policy policy.yaml --record input.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := policy.Load(policyFile)
			if err != nil {
				return err
			}
			var in *policy.Input
			switch {
			case inputFile != "" && len(args) == 0:
				f, err := os.Open(inputFile)
				if err != nil {
					return err
				}
				in, err = policy.ReadInput(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", inputFile, err)
				}
			case inputFile == "" && len(args) == 1:
				if in, err = imageInput(cmd, &reg, args[0], &tf); err != nil {
					return err
				}
			default:
				return errors.New("give an IMAGE or --input, not both")
			}
			if record != "" {
				b, err := json.MarshalIndent(in, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(record, append(b, '\n'), 0o644); err != nil {
					return fmt.Errorf("record input: %w", err)
				}
			}
			d := p.Evaluate(ctx, in)
			if err := printDecision(cmd.OutOrStdout(), output, d); err != nil {
				return err
			}
			if !d.Allowed() {
				return errPolicy
			}
			return nil
		},
	}
	reg.register(cmd.Flags())
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file (YAML)")
	cmd.Flags().StringVar(&inputFile, "input", "", "evaluate a recorded input (JSON) instead of an image")
	cmd.Flags().StringVar(&record, "record", "", "write the input to this file, for `vigil policy test`")
	tf.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	_ = cmd.MarkFlagRequired("policy")
	return cmd
}

// imageInput builds the policy input for an image on its own (no
// workload): its reference, digest and config, and with keys the
// signatures that verify.
func imageInput(cmd *cobra.Command, reg *registryFlags, ref string, tf *trustFlags) (*policy.Input, error) {
	ctx := cmd.Context()
	src, err := image.Open(ctx, ref, image.Options{Insecure: reg.insecure})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var h v1.Hash
	if src.Info.Digest != "" {
		if h, err = v1.NewHash(src.Info.Digest); err != nil {
			return nil, err
		}
	}
	name := src.Info.Name
	if name == "" {
		name = ref
	}
	in := &policy.Input{Image: policy.ImageInput(name, h, src.Config, time.Now())}
	if src.Info.Scheme != image.SchemeRegistry {
		// A path parses as a Docker Hub name; an archive has no registry.
		in.Image.Registry, in.Image.Repository, in.Image.Tag = "", "", ""
	}
	if !tf.set() {
		return in, nil
	}
	if src.Info.Scheme != image.SchemeRegistry {
		return nil, fmt.Errorf("--key: signatures are kept in a registry; %s is a %s", ref, src.Info.Scheme)
	}
	ks, keyless, err := tf.load()
	if err != nil {
		return nil, err
	}
	d, err := reg.digest(ctx, src.Info.Name)
	if err != nil {
		return nil, err
	}
	ev, err := trust.Gather(ctx, d, ks, keyless, reg.remote(ctx)...)
	if err != nil {
		return nil, err
	}
	in.Signatures, in.Provenance = ev.Signatures, ev.Provenance
	return in, nil
}

func printDecision(w io.Writer, output string, d *policy.Decision) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	case "text":
		for _, r := range d.Denied {
			fmt.Fprintf(w, "DENY  %s: %s\n", r.Rule, r.Message)
		}
		for _, r := range d.Warned {
			fmt.Fprintf(w, "WARN  %s: %s\n", r.Rule, r.Message)
		}
		verdict := "allowed"
		if !d.Allowed() {
			verdict = "denied"
		}
		fmt.Fprintf(w, "%s: %s (%d denied, %d warned, %d passed)\n", d.Policy, verdict, len(d.Denied), len(d.Warned), len(d.Passed))
		return nil
	}
	return fmt.Errorf("unknown output %q (text or json)", output)
}

func newPolicyTestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "test SUITE.yaml...",
		Short: "Run policies against recorded inputs and check which rules fail",
		Long: `test runs each suite: a policy and recorded inputs (as "vigil policy eval --record"
writes them), each with the deny rules that must fail and, optionally, the warn rules:

  policy: policy.yaml
  cases:
    - name: unsigned image is denied
      input: inputs/unsigned.json
      denied: [required-signer]
      warned: []

Exit codes: 0 every case passed, 1 a case failed, 2 a suite could not run.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			failed := 0
			for _, suite := range args {
				res, err := policy.RunSuite(cmd.Context(), suite)
				if err != nil {
					return err
				}
				for _, r := range res {
					if r.Problem != "" {
						failed++
						fmt.Fprintf(out, "FAIL  %s: %s: %s\n", suite, r.Name, r.Problem)
					} else {
						fmt.Fprintf(out, "ok    %s: %s\n", suite, r.Name)
					}
				}
			}
			if failed > 0 {
				fmt.Fprintf(out, "%d case(s) failed\n", failed)
				return errPolicy
			}
			return nil
		},
	}
}

func newPolicyRulesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "List the bundled rules a policy can switch on with `use:`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, n := range policy.BundledNames() {
				desc, action, _ := policy.Bundled(n)
				fmt.Fprintf(cmd.OutOrStdout(), "%-28s %-5s %s\n", n, action, desc)
			}
			return nil
		},
	}
}

// policyGate is `vigil scan --policy`: it evaluates the policy over what
// the scan found and, with trust flags, the image's verified signatures
// and provenance; it prints each failed rule and returns errPolicy on a
// denial. scan.go registers the flags with gate.register and calls run
// after writing its report.
type policyGate struct {
	file string
	tf   trustFlags
}

func (g *policyGate) register(fs *pflag.FlagSet) {
	fs.StringVar(&g.file, "policy", "", "evaluate this policy (YAML) and exit 1 when a deny rule fails")
	g.tf.register(fs)
}

func (g *policyGate) run(cmd *cobra.Command, reg *registryFlags, ref string, res *scan.Result) error {
	if g.file == "" {
		return nil
	}
	p, err := policy.Load(g.file)
	if err != nil {
		return err
	}
	in, err := imageInput(cmd, reg, ref, &g.tf)
	if err != nil {
		return err
	}
	in.Findings = policy.FindingsInput(res.Findings)
	in.Hygiene = policy.HygieneInput(res.Issues)
	d := p.Evaluate(cmd.Context(), in)
	if err := printDecision(cmd.ErrOrStderr(), "text", d); err != nil {
		return err
	}
	if !d.Allowed() {
		return errPolicy
	}
	return nil
}
