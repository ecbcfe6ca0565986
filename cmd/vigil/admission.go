package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/admission"
	"github.com/vigilsec/vigil/policy"
)

func init() { commands = append(commands, newAdmissionCmd) }

func newAdmissionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admission",
		Short: "Kubernetes validating admission webhook",
	}
	cmd.AddCommand(newAdmissionServeCmd())
	return cmd
}

func newAdmissionServeCmd() *cobra.Command {
	var (
		reg              registryFlags
		addr, cert, key  string
		policyFile       string
		tf               trustFlags
		failOpen         bool
		recordDir        string
		cacheTTL, tagTTL time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve --tls-cert tls.crt --tls-key tls.key --policy policy.yaml",
		Short: "Serve the validating webhook for Pods and pod controllers over HTTPS",
		Long: `serve answers AdmissionReview v1 requests on ` + admission.ValidatePath + ` (health on ` + admission.HealthPath + `).
Every container image of a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or
CronJob is resolved to its digest, its signatures verified with --key, and the policy
evaluated with the container's security context. Facts about a digest are cached.

Fail-closed by default: when a decision cannot be made (unreachable registry, the
request's timeout, an unknown kind, a malformed review) the request is denied with
the reason. --fail-open allows such requests with a warning; policy denials always deny.
The certificate files are re-read when they change.`,
		Example: `  vigil admission serve --tls-cert /certs/tls.crt --tls-key /certs/tls.key \
    --policy /etc/vigil/policy.yaml --key /etc/vigil/cosign.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := policy.Load(policyFile)
			if err != nil {
				return err
			}
			cfg := admission.Config{Policy: p, Remote: reg.remote(context.Background()), FailOpen: failOpen, CacheTTL: cacheTTL, TagTTL: tagTTL}
			if tf.set() {
				if cfg.Keys, cfg.Keyless, err = tf.load(); err != nil {
					return err
				}
			}
			if recordDir != "" {
				cfg.Record = recorder(cmd, recordDir)
			}
			h, err := admission.NewHandler(cfg)
			if err != nil {
				return err
			}
			srv, err := admission.NewServer(addr, h, cert, key)
			if err != nil {
				return err
			}
			errc := make(chan error, 1)
			go func() { errc <- srv.ListenAndServeTLS("", "") }()
			fmt.Fprintf(cmd.ErrOrStderr(), "vigil admission: serving on %s (policy %s, %d rule(s))\n", addr, p.Name, len(p.Rules()))
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			}
		},
	}
	reg.register(cmd.Flags())
	cmd.Flags().StringVar(&addr, "addr", ":8443", "address to listen on")
	cmd.Flags().StringVar(&cert, "tls-cert", "", "TLS certificate (PEM)")
	cmd.Flags().StringVar(&key, "tls-key", "", "TLS private key (PEM)")
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file (YAML)")
	tf.register(cmd.Flags())
	cmd.Flags().BoolVar(&failOpen, "fail-open", false, "allow, with a warning, when no decision can be made (default: deny)")
	cmd.Flags().StringVar(&recordDir, "record-dir", "", "write each evaluated input to this directory (one JSON file per distinct input), for `vigil policy test`")
	cmd.Flags().DurationVar(&cacheTTL, "cache-ttl", 5*time.Minute, "how long facts about a digest (config, signatures) are reused")
	cmd.Flags().DurationVar(&tagTTL, "tag-ttl", 30*time.Second, "how long a tag's resolution to a digest is reused")
	for _, f := range []string{"tls-cert", "tls-key", "policy"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// recorder writes each distinct input once, named by its hash, so that a
// busy cluster re-admitting the same pods does not fill the disk.
func recorder(cmd *cobra.Command, dir string) func(*policy.Input, *policy.Decision) {
	return func(in *policy.Input, d *policy.Decision) {
		b, err := json.MarshalIndent(in, "", "  ")
		if err != nil {
			return
		}
		sum := sha256.Sum256(b)
		verdict := "allowed"
		if !d.Allowed() {
			verdict = "denied"
		}
		p := filepath.Join(dir, fmt.Sprintf("%s-%x.json", verdict, sum[:8]))
		if _, err := os.Stat(p); err == nil {
			return
		}
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "vigil admission: record input: %v\n", err)
		}
	}
}
