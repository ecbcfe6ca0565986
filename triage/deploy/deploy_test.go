package deploy_test

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/triage/deploy"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
	"github.com/vigilsec/vigil/workload"
)

func TestMain(m *testing.M) { vulndbtest.Main(m) }

// TestContexts scans the real Debian image against the real data under
// four deployments. Offline, every finding whose every CVSS vector says attack
// vector Network is suppressed with the Compose file as evidence, and every
// other finding is kept; a deployment that serves the image (alone, or next
// to an offline one) suppresses nothing.
func TestContexts(t *testing.T) {
	db := vulndbtest.DB(t)
	ref := "oci-dir:" + testimage.WriteOCILayout(t, testimage.DebianImage(t))
	// The config.json `runc spec` writes gives the container a new network
	// namespace with no interfaces but loopback.
	testimage.Require(t, "runc")
	bundle := t.TempDir()
	if out, err := exec.Command("runc", "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	tests := []struct {
		file       string
		suppresses bool
		source     string // where the evidence must point
		hardening  []string
	}{
		{"testdata/compose-none.yaml", true, "testdata/compose-none.yaml#services.batch", []string{"read-only root filesystem", "capabilities dropped: ALL", "uid 1000"}},
		{"testdata/compose-bridge.yaml", false, "", nil},
		{"testdata/compose-mixed.yaml", false, "", nil},
		{filepath.Join(bundle, "config.json"), true, filepath.Join(bundle, "config.json"), []string{"read-only root filesystem"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			ws, err := workload.Load(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			res, err := scan.Run(t.Context(), ref, scan.Options{
				Layers:    layers.Options{TempDir: t.TempDir()},
				DB:        db,
				Workloads: ws,
				Triage:    []triage.Provider{deploy.Provider{}},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			var network, other, suppressed int
			for _, f := range res.Findings {
				isNet := allNetwork(f.CVSS)
				if isNet {
					network++
				} else {
					other++
				}
				switch {
				case f.Verdict == nil:
					if tt.suppresses && isNet {
						t.Errorf("%s %s: network-only (%v) but not suppressed", f.Component.Name, f.ID, f.CVSS)
					}
				case !tt.suppresses || !isNet:
					t.Errorf("%s %s: vectors %v, got verdict %+v", f.Component.Name, f.ID, f.CVSS, f.Verdict)
				default:
					suppressed++
					v := f.Verdict
					if v.Status != vex.NotAffected || v.Justification != vex.VulnerableCodeCannotBeControlledByAdversary || v.By != "triage/deploy" {
						t.Errorf("%s %s: verdict %+v", f.Component.Name, f.ID, v)
					}
					if !hasEvidence(v, tt.source, "network: none") {
						t.Errorf("%s %s: evidence %+v does not point at %s", f.Component.Name, f.ID, v.Evidence, tt.source)
					}
					for _, h := range tt.hardening {
						if !hasEvidence(v, tt.source, h) {
							t.Errorf("%s %s: evidence %+v lacks %q", f.Component.Name, f.ID, v.Evidence, h)
						}
					}
				}
			}
			// The image must have both kinds, or the test shows nothing.
			if network == 0 || other == 0 {
				t.Fatalf("fixture has %d network-only and %d other findings; want both", network, other)
			}
			if tt.suppresses && suppressed != network {
				t.Errorf("suppressed %d of %d network-only findings", suppressed, network)
			}
		})
	}
}

func allNetwork(vs []match.CVSS) bool {
	if len(vs) == 0 {
		return false
	}
	for _, v := range vs {
		if !strings.Contains("/"+v.Vector+"/", "/AV:N/") {
			return false
		}
	}
	return true
}

func hasEvidence(v *vex.Verdict, loc, detail string) bool {
	for _, e := range v.Evidence {
		if (loc == "" || e.Location == loc) && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

func TestSummarize(t *testing.T) {
	ws, err := workload.Load(filepath.Join("testdata", "compose-mixed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		in        triage.Input
		image     string
		sources   []string
		exposed   bool
		assumed   bool
		noteMatch string
	}{
		{"no context, no config (dir:)", triage.Input{}, "x", []string{"image config"}, false, true, "nothing is known"},
		{"no context: image config without ports", triage.Input{Config: &v1.ConfigFile{}}, "x", []string{"image config"}, false, true, "assumed from image config"},
		{"picks the workloads running the image", triage.Input{Workloads: ws}, "registry.example:5000/vigil-test/debian:12",
			[]string{"testdata/compose-mixed.yaml#services.batch", "testdata/compose-mixed.yaml#services.web"}, true, false, ""},
		{"by digest", triage.Input{Workloads: ws}, "postgres@sha256:0123", []string{"testdata/compose-mixed.yaml#services.other"}, false, false, ""},
		{"image config with ports", triage.Input{Config: &v1.ConfigFile{Config: v1.Config{ExposedPorts: map[string]struct{}{"8080/tcp": {}}}}}, "x", []string{"image config"}, true, true, "no --context"},
		{"no workload names it: all are taken", triage.Input{Workloads: ws}, "unrelated", []string{
			"testdata/compose-mixed.yaml#services.batch", "testdata/compose-mixed.yaml#services.other", "testdata/compose-mixed.yaml#services.web"}, true, false, "all 3 given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Image.Name = tt.image
			s := deploy.Summarize(&in)
			var got []string
			for _, w := range s.Workloads {
				got = append(got, w.Source)
			}
			if strings.Join(got, " ") != strings.Join(tt.sources, " ") {
				t.Errorf("workloads %v, want %v", got, tt.sources)
			}
			if s.Exposed() != tt.exposed || s.Assumed != tt.assumed {
				t.Errorf("exposed %v assumed %v, want %v %v", s.Exposed(), s.Assumed, tt.exposed, tt.assumed)
			}
			if tt.noteMatch != "" && !strings.Contains(strings.Join(s.Notes, "\n"), tt.noteMatch) {
				t.Errorf("notes %q lack %q", s.Notes, tt.noteMatch)
			}
		})
	}
}
