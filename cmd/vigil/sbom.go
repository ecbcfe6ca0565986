package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigilsec/vigil/report"
	"github.com/vigilsec/vigil/scan"
)

func init() { commands = append(commands, newSBOMCmd) }

func newSBOMCmd() *cobra.Command {
	var (
		img    imageFlags
		format string
		file   string
	)
	cmd := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "List every package in an image, with the layer that brought it",
		Long: `sbom walks every layer of IMAGE once, as a stream, and lists the OS and language
packages it holds (dpkg, apk, rpm, Go binaries, Python, npm, Java), each with the
layer that introduced the version present in the final image.

Formats: ` + strings.Join(report.Formats(), ", ") + `.
The default is "table" when stdout is a terminal and "json" otherwise.`,
		Example: `  vigil sbom docker-archive:app.tar -o cyclonedx-json > app.cdx.json
  vigil sbom 127.0.0.1:5000/team/app:1.4 --insecure -o spdx-json
  vigil sbom oci-dir:./layout -o table
  vigil sbom dir:/srv/rootfs`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if format == "" {
				format = defaultFormat(out)
			}
			w, err := report.New(format, report.Options{})
			if err != nil {
				return err
			}
			p := newProgress(img.quiet)
			res, err := scan.Run(cmd.Context(), args[0], img.options(p))
			p.done()
			if err != nil {
				return err
			}
			defer res.Close()
			doc := &report.Document{
				Inventory: res.Inventory,
				Tool:      report.ToolInfo{Name: "vigil", Version: version},
				Created:   time.Now().UTC(),
			}
			return writeReport(out, file, w, doc)
		},
	}
	img.register(cmd.Flags())
	cmd.Flags().StringVarP(&format, "output", "o", "", "report format: "+strings.Join(report.Formats(), ", "))
	cmd.Flags().StringVar(&file, "file", "", "write the report to this file instead of stdout")
	return cmd
}

// defaultFormat is a table for people and JSON for programs.
func defaultFormat(out io.Writer) string {
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return "table"
	}
	return "json"
}

// writeReport writes to file, or to out when file is empty. A file is
// written beside its final name and renamed so a failed run leaves no
// half-written report behind.
func writeReport(out io.Writer, file string, w report.Writer, doc *report.Document) error {
	if file == "" {
		return w.Write(out, doc)
	}
	tmp, err := os.CreateTemp(dirOf(file), ".vigil-report-*")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := w.Write(tmp, doc); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", file, err)
	}
	return os.Rename(tmp.Name(), file)
}

func dirOf(file string) string {
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		return file[:i+1]
	}
	return "."
}
