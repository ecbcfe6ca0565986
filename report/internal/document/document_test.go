package document

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vex"
)

func TestFullName(t *testing.T) {
	tests := []struct {
		typ, ns, name, want string
	}{
		{"golang", "github.com/google", "uuid", "github.com/google/uuid"},
		{"golang", "", "stdlib", "stdlib"},
		{"npm", "@babel", "core", "@babel/core"},
		{"npm", "", "left-pad", "left-pad"},
		{"maven", "org.yaml", "snakeyaml", "org.yaml:snakeyaml"},
		{"deb", "debian", "libc6", "libc6"},
		{"apk", "alpine", "musl", "musl"},
		{"pypi", "", "requests", "requests"},
	}
	for _, tt := range tests {
		c := inventory.Component{Type: tt.typ, Namespace: tt.ns, Name: tt.name}
		if got := FullName(&c); got != tt.want {
			t.Errorf("FullName(%s %q %q) = %q, want %q", tt.typ, tt.ns, tt.name, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := func() *Document {
		return &Document{Inventory: &inventory.Inventory{}, Tool: ToolInfo{Name: "vigil"}, Created: time.Unix(1, 0)}
	}
	if err := good().Validate(); err != nil {
		t.Errorf("complete document: %v", err)
	}
	var nilDoc *Document
	if nilDoc.Validate() == nil {
		t.Error("nil document: no error")
	}
}

func TestToolString(t *testing.T) {
	for _, tt := range []struct {
		tool ToolInfo
		want string
	}{
		{ToolInfo{Name: "vigil", Version: "0.1.0"}, "vigil-0.1.0"},
		{ToolInfo{Name: "vigil"}, "vigil"},
	} {
		if got := tt.tool.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.tool, got, tt.want)
		}
	}
}

func TestSuppressed(t *testing.T) {
	d := &Document{Findings: []match.Finding{
		{ID: "unexamined"},
		{ID: "not affected", Verdict: &vex.Verdict{Status: vex.NotAffected}},
		{ID: "fixed", Verdict: &vex.Verdict{Status: vex.Fixed}},
		{ID: "affected", Verdict: &vex.Verdict{Status: vex.Affected}},
		{ID: "under investigation", Verdict: &vex.Verdict{Status: vex.UnderInvestigation}},
	}}
	if got := d.Suppressed(); got != 2 {
		t.Errorf("Suppressed() = %d, want 2 (not affected, fixed)", got)
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, map[string]string{"purl": "pkg:deb/debian/a@1?arch=amd64&distro=debian-12"}, "test"); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"purl\": \"pkg:deb/debian/a@1?arch=amd64&distro=debian-12\"\n}\n"; buf.String() != want {
		t.Errorf("WriteJSON = %q, want %q", buf.String(), want)
	}
	if err := WriteJSON(&buf, func() {}, "test"); err == nil || !strings.Contains(err.Error(), "write test") {
		t.Errorf("unencodable value: err = %v", err)
	}
}
