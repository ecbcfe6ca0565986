package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/policy"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/trust"
	"github.com/vigilsec/vigil/workload"
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
	src, err := image.Open(cmd.Context(), ref, image.Options{Insecure: reg.insecure})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return sourceInput(cmd.Context(), reg, src, ref, tf)
}

// sourceInput is imageInput for an image already opened.
func sourceInput(ctx context.Context, reg *registryFlags, src *image.Source, ref string, tf *trustFlags) (*policy.Input, error) {
	var h v1.Hash
	var err error
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
	// Verify the digest that was opened: a tag resolved again could name
	// another image by now.
	pinned := src.Info.Name
	if src.Info.Digest != "" && !strings.Contains(pinned, "@") {
		pinned += "@" + src.Info.Digest
	}
	d, err := reg.digest(ctx, pinned)
	if err != nil {
		return nil, err
	}
	ev, err := trust.Gather(ctx, d, ks, keyless, reg.remote(ctx)...)
	if err != nil {
		return nil, err
	}
	in.Signatures, in.Attestations, in.Provenance = ev.Signatures, ev.Attestations, ev.Provenance
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
// and provenance. With --context files, it judges each container of theirs
// that runs the image, with its security context, as admission judges a
// pod's; without, the image alone. It prints each failed rule and returns
// errPolicy on a denial. scan.go registers the flags with gate.register
// and calls run after writing its report.
type policyGate struct {
	file string
	tf   trustFlags
}

func (g *policyGate) register(fs *pflag.FlagSet) {
	fs.StringVar(&g.file, "policy", "", "evaluate this policy (YAML) and exit 1 when a deny rule fails")
	g.tf.register(fs)
}

// run judges the scan result res of ref, deployed as workloads say (the
// --context files; none when the image is judged alone).
func (g *policyGate) run(cmd *cobra.Command, reg *registryFlags, ref string, res *scan.Result, workloads ...workload.Workload) error {
	if g.file == "" {
		return nil
	}
	p, err := policy.Load(g.file)
	if err != nil {
		return err
	}
	var in *policy.Input
	if res.Source != nil {
		in, err = sourceInput(cmd.Context(), reg, res.Source, ref, &g.tf)
	} else {
		in, err = imageInput(cmd, reg, ref, &g.tf)
	}
	if err != nil {
		return err
	}
	in.Findings = policy.FindingsInput(res.Findings)
	in.Hygiene = policy.HygieneInput(res.Issues)
	w := cmd.ErrOrStderr()
	placed, note := running(in.Image.Ref, workloads)
	if note != "" {
		fmt.Fprintf(w, "vigil: policy: %s\n", note)
	}
	if len(placed) == 0 {
		placed = []placement{{}} // the image on its own
	}
	denied := false
	for _, pl := range placed {
		pin := *in
		if pl.w != nil {
			pin.Workload, pin.Container = policy.WorkloadInput(pl.w, pl.c)
			if name := pl.w.Containers[pl.c].Name; name != "" {
				fmt.Fprintf(w, "%s, container %s:\n", pl.w.Source, name)
			} else {
				fmt.Fprintf(w, "%s:\n", pl.w.Source) // an OCI config's one container
			}
		}
		d := p.Evaluate(cmd.Context(), &pin)
		if err := printDecision(w, "text", d); err != nil {
			return err
		}
		denied = denied || !d.Allowed()
	}
	if denied {
		return errPolicy
	}
	return nil
}

// placement is container c of workload w.
type placement struct {
	w *workload.Workload
	c int
}

// running finds the containers of ws that run the image named image: those
// naming the same repository, registry, tag and digest aside ("app:1" in a
// Compose file is "registry.example/team/app@sha256:..." as far as the
// file can tell), as triage/deploy matches them. When none does (a Compose
// service that builds its image, an OCI config, which names none), every
// container given is taken to run it, and note says so.
func running(image string, ws []workload.Workload) (placed []placement, note string) {
	var all []placement
	for i := range ws {
		for j := range ws[i].Containers {
			pl := placement{&ws[i], j}
			all = append(all, pl)
			if ws[i].Containers[j].RunsImage(image) {
				placed = append(placed, pl)
			}
		}
	}
	if len(placed) == 0 && len(all) > 0 {
		return all, fmt.Sprintf("no --context workload names image %q; judging all %d containers given", image, len(all))
	}
	return placed, ""
}
