package supersede_test

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/triage/deploy"
	"github.com/vigilsec/vigil/triage/supersede"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestMain(m *testing.M) { vulndbtest.Main(m) }

// TestLayeredImage builds the image of the issue: a later layer overwrites a
// vulnerable binary with a fixed build, another deletes one with a
// whiteout, and a third copy stays. Only the copy that stays is a true
// finding; the other two are suppressed with their layer story.
func TestLayeredImage(t *testing.T) {
	db := vulndbtest.DB(t)
	old, fixed := string(testimage.TextProgram(t, "v0.3.5")), string(testimage.TextProgram(t, "v0.39.0"))
	img := testimage.Build(t, nil, []v1.Layer{
		testimage.LayerFromFiles(t, []testimage.File{
			{Path: "app", Type: testimage.Dir},
			{Path: "app/server", Body: old, Mode: 0o755},
			{Path: "app/tool", Body: old, Mode: 0o755},
			{Path: "app/keep", Body: old, Mode: 0o755},
		}),
		testimage.LayerFromFiles(t, []testimage.File{{Path: "app/server", Body: fixed, Mode: 0o755}}),
		testimage.LayerFromFiles(t, []testimage.File{{Path: "app/tool", Type: testimage.Whiteout}}),
	}, []string{"COPY build/ /app/", "COPY server-fixed /app/server", "RUN rm /app/tool"}, nil)
	ref := "oci-dir:" + testimage.WriteOCILayout(t, img)

	res, err := scan.Run(t.Context(), ref, scan.Options{
		Layers: layers.Options{TempDir: t.TempDir()},
		DB:     db,
		Triage: []triage.Provider{supersede.Provider{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()

	// The fixed build must have no x/text finding: otherwise the fixture
	// does not show what it claims.
	byPath := map[string][]match.Finding{}
	for _, f := range res.Findings {
		if f.Component.Name != "text" || !strings.HasPrefix(f.Component.PURL, "pkg:golang/golang.org/x/text@") {
			continue
		}
		c := component(res, f.Component.Ref)
		if c == nil {
			t.Fatalf("finding %s names component %s, which is in no inventory list", f.ID, f.Component.Ref)
		}
		byPath[c.Locations[0]+"@"+f.Component.Version] = append(byPath[c.Locations[0]+"@"+f.Component.Version], f)
	}
	tests := []struct {
		key        string
		suppressed bool
		story      string // a fragment the evidence must hold
	}{
		{"/app/server@v0.3.5", true, "replaced v0.3.5 by v0.39.0 in layer 1 by `COPY server-fixed /app/server`"},
		{"/app/tool@v0.3.5", true, "removed v0.3.5 in layer 2 by `RUN rm /app/tool`"},
		{"/app/keep@v0.3.5", false, ""},
	}
	for _, tt := range tests {
		fs := byPath[tt.key]
		if len(fs) == 0 {
			t.Errorf("%s: no x/text finding; the vulnerable version should match GO-2021-0113 and GO-2022-1059", tt.key)
			continue
		}
		for _, f := range fs {
			switch {
			case !tt.suppressed && f.Verdict != nil:
				t.Errorf("%s %s: a true finding got verdict %+v", tt.key, f.ID, f.Verdict)
			case tt.suppressed && (f.Verdict == nil || f.Verdict.Status != vex.NotAffected || f.Verdict.Justification != vex.ComponentNotPresent):
				t.Errorf("%s %s: verdict %+v, want not_affected/component_not_present", tt.key, f.ID, f.Verdict)
			case tt.suppressed && (len(f.Verdict.Evidence) == 0 || !strings.Contains(f.Verdict.Evidence[0].Detail, tt.story)):
				t.Errorf("%s %s: evidence %+v lacks %q", tt.key, f.ID, f.Verdict.Evidence, tt.story)
			case tt.suppressed && f.Verdict.By != "triage/supersede":
				t.Errorf("%s %s: By = %q", tt.key, f.ID, f.Verdict.By)
			}
		}
	}
	if fs := byPath["/app/server@v0.39.0"]; len(fs) > 0 {
		t.Errorf("the fixed build has x/text findings %v; pick a fixed version the data agrees with", fs[0].ID)
	}

	// Without this provider nothing would say the removed versions are
	// gone, so the pipeline does not match them at all.
	res2, err := scan.Run(t.Context(), ref, scan.Options{
		Layers: layers.Options{TempDir: t.TempDir()},
		DB:     db,
		Triage: []triage.Provider{deploy.Provider{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Close()
	for _, f := range res2.Findings {
		if component(res2, f.Component.Ref) == nil || slices.ContainsFunc(res2.Inventory.Removed, func(c inventory.Component) bool { return c.Ref == f.Component.Ref }) {
			t.Errorf("%s on removed component %s reported without the supersede provider", f.ID, f.Component.Ref)
		}
	}
}

func component(res *scan.Result, ref string) *inventory.Component {
	for _, list := range [][]inventory.Component{res.Inventory.Components, res.Inventory.Removed} {
		for i := range list {
			if list[i].Ref == ref {
				return &list[i]
			}
		}
	}
	return nil
}
