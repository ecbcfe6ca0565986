package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/hygiene/all"
	"github.com/vigilsec/vigil/hygiene/email"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/triage/vexin"
	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/workload"
)

func init() { commands = append(commands, newScanCmd) }

// severities are the --fail-on values, lowest first.
var severities = []match.Severity{match.SeverityNegligible, match.SeverityLow, match.SeverityMedium, match.SeverityHigh, match.SeverityCritical}

func newScanCmd() *cobra.Command {
	var (
		img           imageFlags
		db            string
		format, file  string
		failOn        string
		ignoreUnfixed bool
		showSupp      bool
		scanners      []string
		contexts      []string
		emailAllow    string
		gate          policyGate
		staleDays     int
		noTriage      bool
		baseline      string
		layerStories  bool
		vexFiles      []string
	)
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Find the vulnerabilities and hygiene problems that are really in an image",
		Long: `scan walks every layer of IMAGE once, lists its packages (as "vigil sbom" does) and
matches them against the local vulnerability database, which "vigil db import" or
"vigil db update" fills. Each finding names the package, the installed and fixed
versions, the severity from its CVSS vector (or "unknown" when no vector is known:
Vigil never guesses), whether CISA lists it as exploited (KEV), and the layer that
brought the package in.

Then triage looks for the facts that make a version match untrue, and
keeps every finding it suppresses with a VEX status and the evidence:
  - a package a later layer replaced or deleted is not in the container
    (not_affected, component_not_present; --layers tells each story);
  - a fix backported into the installed version, named in the package's
    own changelog (fixed);
  - vulnerable Go functions the binary never linked (not_affected,
    vulnerable_code_not_in_execute_path);
  - a network-only vulnerability in a container deployed without a network
    (--context; not_affected, vulnerable_code_cannot_be_controlled_by_adversary).
Findings are ranked (known exploited, reachable, exposed, fix available,
severity); the binary packages of one source package show as one.
--show-suppressed lists what triage suppressed; machine formats always
carry it. --vex applies OpenVEX or CycloneDX VEX statements first: a
statement you make overrides what Vigil infers. --no-triage reports the raw
version matches (and still applies --vex). --baseline shows only
what an earlier JSON report did not have.

It also checks the image's hygiene in the same pass over the layers: secrets in
any layer (also ones a later layer deleted), personal e-mail addresses in the
metadata, package files changed after installation, an outdated or end-of-life
base, and risky configuration (with --context, of the deployment too).
--scanners picks what to run.

Formats: ` + strings.Join(report.Formats(), ", ") + `.
The default is "table" when stdout is a terminal and "json" otherwise.

With --policy, the same scan is judged by a policy (YAML rules with CEL
expressions; "vigil policy rules" lists the bundled ones), with the image's
signatures and provenance when --key or the keyless flags are given.

Exit codes: 0 passed, 1 a finding at or above --fail-on or a policy deny rule
failed, 2 an error.`,
		Example: `  vigil db import ../shared/vulndata
  vigil scan docker-archive:app.tar
  vigil scan 127.0.0.1:5000/app:1 --insecure -o sarif --fail-on high
  vigil scan dir:/srv/rootfs -o cyclonedx-json --ignore-unfixed
  vigil scan app.tar --context compose.yaml --show-suppressed --layers
  vigil scan app.tar -o json --file today.json --baseline yesterday.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if format == "" {
				format = defaultFormat(out)
			}
			w, err := report.New(format, report.Options{ShowSuppressed: showSupp, Layers: layerStories})
			if err != nil {
				return err
			}
			threshold, err := parseSeverity(failOn)
			if err != nil {
				return err
			}
			want, err := parseScanners(scanners)
			if err != nil {
				return err
			}
			p := newProgress(img.quiet)
			opts := img.options(p)
			opts.Status = p.status
			if want["vuln"] {
				dir, err := dbDir(db)
				if err != nil {
					return err
				}
				vdb, err := vulndb.Open(dir)
				if err != nil {
					return err
				}
				defer vdb.Close()
				warnStale(p, vdb.Metadata(), time.Duration(staleDays)*24*time.Hour)
				opts.DB = vdb
				// Documents the user gives apply even with --no-triage:
				// they are statements, not inference.
				var first []triage.Provider
				if len(vexFiles) > 0 {
					vp, err := vexin.Load(vexFiles...)
					if err != nil {
						return err
					}
					first = append(first, vp)
				}
				opts.Triage = first
				if !noTriage {
					opts.Triage = scan.Triage(first...)
				}
			} else if len(vexFiles) > 0 {
				return errors.New("--vex applies to vulnerability findings: add vuln to --scanners")
			}
			var base *triage.Baseline
			if baseline != "" {
				if base, err = triage.LoadBaseline(baseline); err != nil {
					return err
				}
			}
			for _, path := range contexts {
				ws, err := workload.LoadWarn(path, p.warn)
				if err != nil {
					return fmt.Errorf("--context %s: %w", path, err)
				}
				opts.Workloads = append(opts.Workloads, ws...)
			}
			checks, err := all.Default(all.Options{Email: email.Options{AllowList: emailAllow}})
			if err != nil {
				return err
			}
			for _, c := range checks {
				if want[c.Name()] {
					opts.Checks = append(opts.Checks, c)
				}
			}
			res, err := scan.Run(cmd.Context(), args[0], opts)
			p.done()
			if err != nil {
				return err
			}
			defer res.Close()

			findings := res.Findings
			if ignoreUnfixed {
				findings = slices.DeleteFunc(slices.Clone(findings), func(f match.Finding) bool { return f.FixState == match.FixStateNotFixed })
			}
			doc := &report.Document{
				Inventory:  res.Inventory,
				Tool:       report.ToolInfo{Name: "vigil", Version: version},
				Created:    time.Now().UTC(),
				MatchStats: res.MatchStats,
				Issues:     res.Issues,
				Context:    res.Context,
			}
			if base != nil {
				var known int
				findings, known = base.Filter(findings)
				doc.Baseline = &report.Baseline{Path: baseline, Known: known}
			}
			doc.Findings = findings
			if opts.DB != nil {
				doc.Database = databaseInfo(opts.DB.Metadata())
			}
			if err := writeReport(out, file, w, doc); err != nil {
				return err
			}
			// Both gates report before the exit code is decided, so one
			// run tells the user everything that failed.
			gateErr := gate.run(cmd, &registryFlags{insecure: img.insecure}, args[0], res, opts.Workloads...)
			if gateErr != nil && !errors.Is(gateErr, errPolicy) {
				return gateErr
			}
			if n := countAtOrAbove(findings, threshold); n > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %d finding(s) at or above %s severity\n", n, failOn)
				return errPolicy
			}
			return gateErr
		},
	}
	img.register(cmd.Flags())
	addDBFlag(cmd, &db)
	cmd.Flags().StringVarP(&format, "output", "o", "", "report format: "+strings.Join(report.Formats(), ", "))
	cmd.Flags().StringVar(&file, "file", "", "write the report to this file instead of stdout")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit 1 when a finding that is not suppressed has this severity or higher: negligible, low, medium, high, critical")
	cmd.Flags().BoolVar(&ignoreUnfixed, "ignore-unfixed", false, "leave out findings for which no fixed version exists yet")
	cmd.Flags().BoolVar(&showSupp, "show-suppressed", false, "list findings that triage or a VEX document suppressed, with their evidence (machine formats always include them)")
	cmd.Flags().StringSliceVar(&scanners, "scanners", scannerNames, "what to look for: "+strings.Join(scannerNames, ","))
	cmd.Flags().StringArrayVar(&contexts, "context", nil, "a Docker Compose file, Kubernetes manifests or an OCI config.json saying how the image runs (repeatable)")
	cmd.Flags().StringVar(&emailAllow, "email-allow-list", "", "file of addresses your organisation publishes on purpose (one address or *@domain per line)")
	gate.register(cmd.Flags())
	cmd.Flags().IntVar(&staleDays, "db-max-age", 7, "warn when vulnerability data is older than this many days")
	cmd.Flags().BoolVar(&noTriage, "no-triage", false, "report every version match as it is, without judging backports, removed layers, reachability or deployment")
	cmd.Flags().StringVar(&baseline, "baseline", "", `an earlier "vigil scan -o json" report: show only findings it does not have`)
	cmd.Flags().StringArrayVar(&vexFiles, "vex", nil, "an OpenVEX or CycloneDX VEX document whose statements decide findings before Vigil's own triage (repeatable; the latest statement wins)")
	cmd.Flags().BoolVar(&layerStories, "layers", false, "tell, in the table, which layer brought each vulnerable package and which replaced it")
	return cmd
}

// scannerNames are the --scanners values: "vuln" is matching, the others
// are hygiene checks by name.
var scannerNames = []string{"vuln", "secret", "email", "integrity", "config", "base"}

func parseScanners(names []string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(strings.ToLower(n))
		if !slices.Contains(scannerNames, n) {
			return nil, fmt.Errorf("--scanners: unknown scanner %q (known: %s)", n, strings.Join(scannerNames, ", "))
		}
		want[n] = true
	}
	return want, nil
}

func parseSeverity(s string) (match.Severity, error) {
	if s == "" {
		return "", nil
	}
	for _, sev := range severities {
		if string(sev) == strings.ToLower(s) {
			return sev, nil
		}
	}
	return "", fmt.Errorf("--fail-on %q: want one of negligible, low, medium, high, critical", s)
}

// countAtOrAbove counts the findings that need action at or above t.
// Unknown severity never trips the gate: a CVE without a vector is not
// called high by guessing, and the report shows it for a person to judge.
func countAtOrAbove(findings []match.Finding, t match.Severity) int {
	if t == "" {
		return 0
	}
	n := 0
	for _, f := range findings {
		if !f.Verdict.Suppressed() && f.Severity.Rank() >= t.Rank() {
			n++
		}
	}
	return n
}

func databaseInfo(m vulndb.Metadata) *report.DatabaseInfo {
	info := &report.DatabaseInfo{Built: m.Built}
	for _, s := range m.Sources {
		info.Sources = append(info.Sources, report.DatabaseSource{Name: s.Name, Snapshot: s.Snapshot})
	}
	return info
}

// warnStale tells the user when the data a scan rests on is old: a clean
// report from stale data means little.
func warnStale(p *progress, m vulndb.Metadata, maxAge time.Duration) {
	var old []string
	for _, s := range m.Stale(time.Now(), maxAge) {
		old = append(old, fmt.Sprintf("%s from %s", s.Name, s.Snapshot.Format(time.DateOnly)))
	}
	if len(old) > 0 {
		p.warn(fmt.Errorf("vulnerability data is older than %d days (%s); run \"vigil db update\" for current data", int(maxAge.Hours()/24), strings.Join(old, ", ")))
	}
}
