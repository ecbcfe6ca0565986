// Command vigil is Vigil's command line. It only wires packages together:
// each sub-command lives in its own file and calls into the pipeline packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes are part of the CI contract.
const (
	exitOK     = 0
	exitPolicy = 1 // findings at or above --fail-on, or a policy denied
	exitError  = 2 // anything went wrong: bad input, unreadable image, I/O
)

// errPolicy marks a run that worked but must fail the CI job.
var errPolicy = errors.New("policy failed")

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errPolicy):
		return exitPolicy
	default:
		fmt.Fprintf(stderr, "vigil: %v\n", err)
		return exitError
	}
}

// commands are added by the files that define them, in init, so that each
// capability's wiring stays in one file.
var commands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vigil",
		Short: "Container security: what is inside an image, whether to trust it, what it does at run time",
		Long: `Vigil inspects container images and running containers.

  vigil sbom IMAGE          list every package in an image, with the layer that brought it
  vigil scan IMAGE          find vulnerabilities that are really there
  vigil db import DIR       load vulnerability data from a folder (offline)

IMAGE is any of:
  registry:HOST/REPO:TAG    an image in a registry (also a bare reference)
  docker-archive:FILE.tar   a "docker save" archive
  oci-archive:FILE.tar      a tar of an OCI image layout
  oci-dir:DIR               an OCI image layout directory
  dir:DIR                   a root filesystem
A path to a tar or directory without a scheme is detected.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}
