//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/runtime/container"
	"github.com/vigilsec/vigil/runtime/detect"
	"github.com/vigilsec/vigil/runtime/enforce"
	"github.com/vigilsec/vigil/runtime/profile"
	"github.com/vigilsec/vigil/runtime/sensor"
)

func init() { commands = append(commands, newRuntimeCmd) }

func newRuntimeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runtime",
		Short: "Learn what a running container does, detect deviations, and confine it",
		Long: `Watch running containers (runc, containerd, Docker, CRI-O) with an eBPF sensor
(fanotify and /proc/net when eBPF is not available):

  vigil runtime containers                      list running containers
  vigil runtime learn --container ID --for 10m  learn a profile (JSON on stdout or -o)
  vigil runtime watch --profile P               Falco-format alerts for deviations
  vigil runtime generate --profile P --format seccomp|apparmor|networkpolicy
  vigil runtime enforce --profile P --container ID   block unknown executables and peers

To include start-up in a profile, create the container (runc create), start
learning, then start it (runc start).`,
	}
	cmd.AddCommand(newRuntimeContainersCmd(), newRuntimeLearnCmd(), newRuntimeWatchCmd(),
		newRuntimeGenerateCmd(), newRuntimeEnforceCmd())
	return cmd
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "vigil: "+format+"\n", args...) }

func newRuntimeContainersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "containers",
		Short: "List running containers with their mount namespace and image",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := container.List()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-40s %-8s %-12s %s\n", "ID", "PID", "MNTNS", "IMAGE")
			for _, c := range cs {
				fmt.Fprintf(w, "%-40s %-8d %-12d %s\n", c.ID, c.InitPID, c.MntNS, c.Image)
			}
			return nil
		},
	}
}

func newRuntimeLearnCmd() *cobra.Command {
	var (
		id, out, backend string
		dur, quiet       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "learn --container ID [--for 10m] [--quiet 2m] [-o profile.json]",
		Short: "Learn a container's normal behaviour into a profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return errors.New("learn: --container is required")
			}
			if dur <= 0 {
				return errors.New("learn: --for must be positive")
			}
			if backend == "light" {
				return errors.New("learn: --backend light cannot see the syscalls a workload makes, which a seccomp profile needs; learn with ebpf (the default) and watch with light")
			}
			c, err := container.Find(id)
			if err != nil {
				return err
			}
			s, err := sensor.New(sensor.Options{Backend: backend, Logf: logf})
			if err != nil {
				return fmt.Errorf("start sensor: %w", err)
			}
			defer s.Close()
			var table *profile.SyscallTable
			if s.Backend() == "ebpf" {
				if table, err = profile.HostSyscalls(); err != nil {
					logf("syscalls will not be learned: %v", err)
				}
			}
			target := sensor.Target{MntNS: c.MntNS, PID: c.InitPID}
			if err := s.Watch(target); err != nil {
				return err
			}
			l := profile.NewLearner(c.ID, c.Image, container.NewHasher(c).Hash, table)
			logf("learning container %s (%s) with the %s sensor for up to %s", c.ID, c.Image, s.Backend(), dur)
			p, reason := profile.Learn(cmd.Context(), profile.LearnOptions{
				Source: s, MntNS: c.MntNS, Learner: l, For: dur, Quiet: quiet, Alive: c.Alive,
			})
			st := s.Stats()
			p.Learned.Backend, p.Learned.Drops = s.Backend(), st.Drops
			if err := s.Unwatch(target); err != nil {
				logf("%v", err)
			}
			logf("stopped: %s after %s; %d executables, %d write dirs, %d listening ports, %d peers, %d syscalls, %d capabilities",
				reason, p.Learned.End.Sub(p.Learned.Start).Round(time.Millisecond), len(p.Executables),
				len(p.WriteDirs), len(p.Listen), len(p.Peers), len(p.Syscalls), len(p.Capabilities))
			if reason == profile.StopExited {
				logf("warning: container %s exited while learning; the profile only covers its life until then", c.ID)
			}
			logf("sensor: %d events delivered, %d repeats folded in the kernel, %d dropped", st.Events, st.Suppressed, st.Drops)
			if st.Drops > 0 {
				logf("warning: the sensor dropped %d events; the profile may be incomplete", st.Drops)
			}
			return writeOut(out, cmd.OutOrStdout(), p.Write)
		},
	}
	cmd.Flags().StringVar(&id, "container", "", "container id (or unique prefix)")
	cmd.Flags().DurationVar(&dur, "for", 10*time.Minute, "longest time to learn")
	cmd.Flags().DurationVar(&quiet, "quiet", 0, "stop once the profile has not changed for this long (0: never)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the profile to this file instead of stdout")
	cmd.Flags().StringVar(&backend, "backend", "", "sensor: ebpf or fanotify (default: ebpf, falling back to fanotify)")
	return cmd
}

// writeOut writes to file, or to stdout when file is empty.
func writeOut(file string, stdout io.Writer, write func(io.Writer) error) error {
	if file == "" {
		return write(stdout)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	return f.Close()
}

func newRuntimeWatchCmd() *cobra.Command {
	var (
		prof, id, output, backend string
		lim                       detect.LimitOptions
	)
	cmd := &cobra.Command{
		Use:   "watch --profile P [--container ID] [--output FILE|URL]",
		Short: "Report deviations from a profile as Falco-compatible JSON alerts",
		Long: `Watch a container and print one JSON line per incident (Falco's output
format) when it deviates from its profile: a new executable, a shell, a write
outside learned directories, a new listening port, a new outbound peer, a new
syscall, a new capability. Repeats of an incident are counted into one
follow-up alert, and a token bucket per rule and container bounds the rate.

Without --container, every container with the profile's id or image is
watched, those running now and those started later (they are picked up when
the runtime creates them, before their process runs), until interrupted.
With --container, watch ends when that container exits.

Sensors (--backend):
  ebpf      the default (fanotify when eBPF cannot load). Traces syscall
            entry, so it sees every attempt, failed ones included, and
            costs a syscall-bound process 10-20% more CPU.
  light     attaches nothing to syscalls (0-1%; 4-7% for a loop that only
            creates and removes files): exec from the scheduler, sockets
            from cgroup hooks, file changes (writes, creation, removal,
            chmod, rename) from the kernel's timestamp tracepoints, and new
            syscalls only for a container run with 'vigil runtime generate
            --format seccomp --complain' (the kernel logs the syscalls the
            profile lacks). It sees what changed, not attempts: no failed
            opens. Before Linux 6.13 file writes come from fanotify when
            the file is closed, without unlink, chmod, rename or mkdir.
  fanotify  no eBPF: exec and writes from fanotify, sockets from /proc.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := profile.Load(prof)
			if err != nil {
				return err
			}
			var fixed container.Container
			if id != "" {
				if fixed, err = container.Find(id); err != nil {
					return err
				}
			}
			sink, err := detect.Open(output)
			if err != nil {
				return err
			}
			s, err := sensor.New(sensor.Options{Backend: backend, Logf: logf})
			if err != nil {
				sink.Close()
				return fmt.Errorf("start sensor: %w", err)
			}
			var table *profile.SyscallTable
			if s.Backend() != "fanotify" && p.Syscalls != nil {
				table, _ = profile.HostSyscalls()
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			opts := detect.RunOptions{
				Source: s, Limiter: detect.NewLimiter(lim), Sink: sink, Table: table, Logf: logf,
				Gone: func(t detect.Target) {
					if err := s.Unwatch(sensor.Target{MntNS: t.MntNS}); err != nil {
						logf("%v", err)
					}
				},
			}
			// watch starts the sensor on c; the detector must know c first,
			// or its first events would find no target.
			target := func(c container.Container) detect.Target {
				d := detect.New(p, detect.Container{ID: c.ID, Image: c.Image}, container.NewHasher(c).Hash)
				return detect.Target{MntNS: c.MntNS, Detector: d, Alive: c.Alive}
			}
			watch := func(c container.Container) error {
				if err := s.Watch(sensor.Target{MntNS: c.MntNS, PID: c.InitPID}); err != nil {
					return err
				}
				logf("watching container %s (%s) with the %s sensor", c.ID, c.Image, s.Backend())
				return nil
			}
			if id != "" {
				opts.Targets = []detect.Target{target(fixed)}
				if err := watch(fixed); err != nil {
					s.Close()
					sink.Close()
					return err
				}
			} else {
				add := make(chan detect.Target)
				opts.Add = add
				logf("watching every container with id %q or image %q, and those started later", p.Container, p.Image)
				go func() {
					defer close(add)
					container.Watch(ctx, time.Second, func(c container.Container) {
						if c.ID != p.Container && (p.Image == "" || c.Image != p.Image) {
							return
						}
						select {
						case add <- target(c):
						case <-ctx.Done():
							return
						}
						if err := watch(c); err != nil {
							logf("%v", err)
						}
					})
				}()
			}
			err = detect.Run(ctx, opts)
			cancel()
			if st := s.Stats(); st.Drops > 0 {
				logf("warning: the sensor dropped %d events", st.Drops)
			}
			s.Close()
			return errors.Join(err, sink.Close())
		},
	}
	cmd.Flags().StringVar(&prof, "profile", "", "profile from vigil runtime learn (required)")
	cmd.Flags().StringVar(&id, "container", "", "container id (or unique prefix); default: every container with the profile's id or image")
	cmd.Flags().StringVar(&output, "output", "-", "alerts to: - (stdout), a file (JSON lines, appended) or an http(s):// URL (POST)")
	cmd.Flags().StringVar(&backend, "backend", "", "sensor: ebpf, light or fanotify (see above)")
	cmd.Flags().DurationVar(&lim.Window, "dedup-window", time.Minute, "repeats of an incident within this time are counted, not re-sent")
	cmd.Flags().Float64Var(&lim.PerSecond, "rate", 1, "new incidents per second per rule and container (token refill)")
	cmd.Flags().IntVar(&lim.Burst, "burst", 10, "token bucket size per rule and container")
	cmd.MarkFlagRequired("profile")
	return cmd
}

func newRuntimeGenerateCmd() *cobra.Command {
	var (
		prof, format, out, name string
		complain                bool
	)
	cmd := &cobra.Command{
		Use:   "generate --profile P --format seccomp|apparmor|networkpolicy [--complain] [-o FILE]",
		Short: "Generate a seccomp profile, AppArmor profile or NetworkPolicy from a learned profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := profile.Load(prof)
			if err != nil {
				return err
			}
			var write func(io.Writer) error
			switch format {
			case "seccomp":
				mode := enforce.SeccompEnforce
				if complain {
					mode = enforce.SeccompComplain
				}
				write = func(w io.Writer) error { return enforce.WriteSeccomp(w, p, mode) }
			case "apparmor":
				write = func(w io.Writer) error { return enforce.WriteAppArmor(w, p, name) }
			case "networkpolicy":
				write = func(w io.Writer) error { return enforce.WriteNetworkPolicy(w, p, name) }
			default:
				return fmt.Errorf("generate: --format %q: want seccomp, apparmor or networkpolicy", format)
			}
			if complain && format != "seccomp" {
				return fmt.Errorf("generate: --complain applies to --format seccomp, not %s", format)
			}
			return writeOut(out, cmd.OutOrStdout(), write)
		},
	}
	cmd.Flags().StringVar(&prof, "profile", "", "profile from vigil runtime learn (required)")
	cmd.Flags().StringVar(&format, "format", "seccomp", "seccomp, apparmor or networkpolicy")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&name, "name", "", "AppArmor profile or NetworkPolicy name (default: from the profile's image)")
	cmd.Flags().BoolVar(&complain, "complain", false, "seccomp: log syscalls outside the profile (SCMP_ACT_LOG) instead of failing them with EPERM; watch --backend light alerts on them")
	cmd.MarkFlagRequired("profile")
	return cmd
}

func newRuntimeEnforceCmd() *cobra.Command {
	var prof, id string
	cmd := &cobra.Command{
		Use:   "enforce --profile P --container ID",
		Short: "Block a running container's unknown executables and outbound peers until interrupted",
		Long: `Live blocking: executables not in the profile (by path and SHA-256) fail with
EPERM (fanotify FAN_OPEN_EXEC_PERM on the container's root mount), and
connections to peers not in the profile fail with EPERM (a cgroup v2
connect4/connect6 program on the container's cgroup). Runs until interrupted;
each denial is logged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := profile.Load(prof)
			if err != nil {
				return err
			}
			if id == "" {
				return errors.New("enforce: --container is required")
			}
			c, err := container.Find(id)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			return enforce.Live(ctx, p, c, func(d enforce.Denial) {
				logf("denied %s %s in container %s (pid %d)", d.What, d.Subject, c.ID, d.PID)
			}, logf)
		},
	}
	cmd.Flags().StringVar(&prof, "profile", "", "profile from vigil runtime learn (required)")
	cmd.Flags().StringVar(&id, "container", "", "container id (or unique prefix)")
	cmd.MarkFlagRequired("profile")
	return cmd
}
