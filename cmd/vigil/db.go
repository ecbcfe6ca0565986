package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/update"
)

func init() { commands = append(commands, newDBCmd) }

// addDBFlag adds --db to cmd; dbDir resolves its value.
func addDBFlag(cmd *cobra.Command, dir *string) {
	cmd.PersistentFlags().StringVar(dir, "db", "", "vulnerability database directory (default <user cache dir>/vigil/db)")
}

func dbDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	dir, err := vulndb.DefaultDir()
	if err != nil {
		return "", fmt.Errorf("no --db given and no user cache directory: %w", err)
	}
	return dir, nil
}

func newDBCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Build and inspect the vulnerability database",
		Long: `The vulnerability database holds OSV records (Debian, Alpine, Go, PyPI, npm,
Maven...), the CISA KEV catalog and CVSS vectors, in one file replaced
atomically on every import or update.`,
	}
	addDBFlag(cmd, &dir)
	cmd.AddCommand(newDBImportCmd(&dir), newDBUpdateCmd(&dir), newDBStatusCmd(&dir))
	return cmd
}

func newDBImportCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "import DIR",
		Short: "Build the database from a folder, offline",
		Long: `Build the database from DIR, laid out as the OSV export:
  DIR/osv/<Ecosystem>/all.zip              OSV records, any ecosystem
  DIR/known_exploited_vulnerabilities.json CISA KEV catalog (optional)
  DIR/cvss.json.gz                         CVSS vectors per CVE (optional)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := dbDir(*dir)
			if err != nil {
				return err
			}
			p := newProgress(false)
			res, err := update.Import(cmd.Context(), d, args[0], dbProgress(p))
			p.done()
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), d, res)
		},
	}
}

func newDBUpdateCmd(dir *string) *cobra.Command {
	var opts update.Options
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Download the sources and rebuild the database",
		Long: `Download OSV's per-ecosystem exports and CISA's KEV catalog, or the same
files from a mirror (--source), and rebuild the database. The old database
stays in place until the new one is complete.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := dbDir(*dir)
			if err != nil {
				return err
			}
			p := newProgress(false)
			opts.Progress = dbProgress(p)
			res, err := update.Download(cmd.Context(), d, opts)
			p.done()
			if err != nil {
				return fmt.Errorf("%w (the previous database, if any, is unchanged)", err)
			}
			return printResult(cmd.OutOrStdout(), d, res)
		},
	}
	cmd.Flags().StringVar(&opts.Mirror, "source", "", "base URL of a mirror laid out like a \"db import\" folder (default: the public OSV export and KEV feed)")
	cmd.Flags().StringSliceVar(&opts.Ecosystems, "ecosystem", nil, "OSV ecosystems to fetch (default "+strings.Join(update.DefaultEcosystems, ",")+")")
	return cmd
}

func newDBStatusCmd(dir *string) *cobra.Command {
	var (
		maxAge  int
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the database holds and how old it is",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := dbDir(*dir)
			if err != nil {
				return err
			}
			db, err := vulndb.Open(d)
			if err != nil {
				return err
			}
			defer db.Close()
			meta := db.Metadata()
			if jsonOut {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(meta)
			}
			printStatus(cmd.OutOrStdout(), db.Path(), meta, time.Duration(maxAge)*24*time.Hour, time.Now())
			return nil
		},
	}
	cmd.Flags().IntVar(&maxAge, "max-age", 7, "warn about sources whose data is older than this many days")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the metadata as JSON")
	return cmd
}

func printResult(w io.Writer, dir string, res *update.Result) error {
	for _, n := range res.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	printStatus(w, dir, *res.Metadata, 0, res.Metadata.Built)
	return nil
}

// printStatus prints the sources of meta; with maxAge above zero it also
// warns about every source older than that at now.
func printStatus(w io.Writer, path string, meta vulndb.Metadata, maxAge time.Duration, now time.Time) {
	fmt.Fprintf(w, "Vulnerability database %s (schema %d), built %s\n\n", path, meta.Schema, meta.Built.Local().Format(time.DateTime))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tRECORDS\tSNAPSHOT\tAGE\tWARNINGS\t")
	days := func(s vulndb.SourceInfo) int { return int(now.Sub(s.Snapshot).Hours() / 24) }
	for _, s := range meta.Sources {
		snap, age := "unknown", "unknown"
		if !s.Snapshot.IsZero() {
			snap, age = s.Snapshot.Format(time.DateOnly), fmt.Sprintf("%d days", days(s))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t\n", s.Name, s.Records, snap, age, s.WarningCount())
	}
	tw.Flush()

	ecos := meta.Ecosystems()
	if len(ecos) > 0 {
		fmt.Fprintln(w, "\nRecords per ecosystem:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, eco := range slices.Sorted(maps.Keys(ecos)) {
			fmt.Fprintf(tw, "  %s\t%d\n", eco, ecos[eco])
		}
		tw.Flush()
	}
	for _, s := range meta.Sources {
		for _, warn := range s.Warnings {
			ex := ""
			if len(warn.Examples) > 0 {
				ex = " (e.g. " + warn.Examples[0] + ")"
			}
			fmt.Fprintf(w, "skipped in %s: %d × %s%s\n", s.Name, warn.Count, warn.Reason, ex)
		}
	}
	var stale []string
	if maxAge > 0 {
		for _, s := range meta.Stale(now, maxAge) {
			stale = append(stale, fmt.Sprintf("%s (%d days)", s.Name, days(s)))
		}
	}
	if len(stale) > 0 {
		fmt.Fprintf(w, "\nWARNING: data older than %d days: %s.\n"+
			"Vulnerabilities published since are missing from it, and fixes released since are not known:\n"+
			"run \"vigil db update\" (or \"vigil db import\" a newer folder). Matching still works on the data as it is.\n",
			int(maxAge.Hours()/24), strings.Join(stale, ", "))
	}
}

// dbProgress shows an import's or update's progress on the status line of
// p, at most ten times a second.
func dbProgress(p *progress) vulndb.ProgressFunc {
	var last time.Time
	return func(stage string, done, total int64) {
		if total > 0 && done < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		switch {
		case strings.HasPrefix(stage, "download "):
			msg := stage + ": " + mib(done)
			if total > 0 {
				msg += " of " + mib(total)
			}
			p.status(msg)
		case total > 0:
			p.status(fmt.Sprintf("%s: %d%%", stage, done*100/total))
		default:
			p.status(fmt.Sprintf("%s: %d", stage, done))
		}
	}
}
