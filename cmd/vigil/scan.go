package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/vulndb"
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
		staleDays     int
	)
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Find the vulnerabilities that are really in an image",
		Long: `scan walks every layer of IMAGE once, lists its packages (as "vigil sbom" does) and
matches them against the local vulnerability database, which "vigil db import" or
"vigil db update" fills. Each finding names the package, the installed and fixed
versions, the severity from its CVSS vector (or "unknown" when no vector is known:
Vigil never guesses), whether CISA lists it as exploited (KEV), and the layer that
brought the package in.

Formats: ` + strings.Join(report.Formats(), ", ") + `.
The default is "table" when stdout is a terminal and "json" otherwise.

Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 an error.`,
		Example: `  vigil db import ../shared/vulndata
  vigil scan docker-archive:app.tar
  vigil scan 127.0.0.1:5000/app:1 --insecure -o sarif --fail-on high
  vigil scan dir:/srv/rootfs -o cyclonedx-json --ignore-unfixed`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if format == "" {
				format = defaultFormat(out)
			}
			w, err := report.New(format, report.Options{ShowSuppressed: showSupp})
			if err != nil {
				return err
			}
			threshold, err := parseSeverity(failOn)
			if err != nil {
				return err
			}
			dir, err := dbDir(db)
			if err != nil {
				return err
			}
			vdb, err := vulndb.Open(dir)
			if err != nil {
				return err
			}
			defer vdb.Close()

			p := newProgress(img.quiet)
			warnStale(p, vdb.Metadata(), time.Duration(staleDays)*24*time.Hour)
			opts := img.options(cmd, p)
			opts.DB = vdb
			opts.Status = p.status
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
				Findings:   findings,
				MatchStats: res.MatchStats,
				Database:   databaseInfo(vdb.Metadata()),
			}
			if err := writeReport(out, file, w, doc); err != nil {
				return err
			}
			if n := countAtOrAbove(findings, threshold); n > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %d finding(s) at or above %s severity\n", n, failOn)
				return errPolicy
			}
			return nil
		},
	}
	img.register(cmd.Flags())
	addDBFlag(cmd, &db)
	cmd.Flags().StringVarP(&format, "output", "o", "", "report format: "+strings.Join(report.Formats(), ", "))
	cmd.Flags().StringVar(&file, "file", "", "write the report to this file instead of stdout")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit 1 when a finding that is not suppressed has this severity or higher: negligible, low, medium, high, critical")
	cmd.Flags().BoolVar(&ignoreUnfixed, "ignore-unfixed", false, "leave out findings for which no fixed version exists yet")
	cmd.Flags().BoolVar(&showSupp, "show-suppressed", false, "list findings that triage or a VEX document suppressed, with their evidence (machine formats always include them)")
	cmd.Flags().IntVar(&staleDays, "db-max-age", 7, "warn when vulnerability data is older than this many days")
	return cmd
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
