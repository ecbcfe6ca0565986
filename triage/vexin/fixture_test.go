package vexin

import (
	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
)

// The fixture is an image the hand-written documents in testdata speak
// about: a Debian package, a Go binary /app/server (its main module and
// golang.org/x/text), a second binary /app/tool linking the same x/text
// (same purl, another component), and a binary without a purl.
const (
	fixtureDigest = "sha256:9a8c0e4bb1b3f6c8d2e7f10a4c5b6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c"

	refLibssl  = "pkg-11aa11aa11aa11aa"
	refApp     = "pkg-22bb22bb22bb22bb"
	refText    = "pkg-33cc33cc33cc33cc" // in /app/server
	refTextToo = "pkg-44dd44dd44dd44dd" // in /app/tool
	refBusybox = "pkg-55ee55ee55ee55ee"
)

func fixtureInventory() *inventory.Inventory {
	text := func(ref, loc string) inventory.Component {
		return inventory.Component{Ref: ref, Type: "golang", Namespace: "golang.org/x", Name: "text", Version: "v0.3.5",
			PURL: "pkg:golang/golang.org/x/text@v0.3.5", Locations: []string{loc}}
	}
	return &inventory.Inventory{
		Source: image.Info{Ref: "ghcr.io/acme/payments:1.4.2", Scheme: "registry", Name: "ghcr.io/acme/payments:1.4.2",
			Digest: fixtureDigest, OS: "linux", Arch: "amd64"},
		Components: []inventory.Component{
			{Ref: refLibssl, Type: "deb", Namespace: "debian", Name: "libssl3", Version: "3.0.11-1~deb12u2",
				Source: &inventory.SourcePackage{Name: "openssl", Version: "3.0.11-1~deb12u2"},
				PURL:   "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", Locations: []string{"/var/lib/dpkg/status"}},
			{Ref: refApp, Type: "golang", Namespace: "example.com", Name: "app", Version: "v1.2.0",
				PURL: "pkg:golang/example.com/app@v1.2.0", Locations: []string{"/app/server"}, Metadata: map[string]string{"go.main": "true"}},
			text(refText, "/app/server"),
			text(refTextToo, "/app/tool"),
			{Ref: refBusybox, Type: "binary", Name: "busybox", Version: "1.36.1", Locations: []string{"/bin/busybox"}},
		},
	}
}

// fixtureFindings are the findings a scan of the fixture would have; the
// ids and aliases are those of the real OSV records.
func fixtureFindings(inv *inventory.Inventory) []match.Finding {
	byRef := map[string]*inventory.Component{}
	for i := range inv.Components {
		byRef[inv.Components[i].Ref] = &inv.Components[i]
	}
	f := func(id, ref string, aliases ...string) match.Finding {
		c := byRef[ref]
		return match.Finding{ID: id, Aliases: aliases, InstalledVersion: c.Version, FixState: match.FixStateFixed,
			Component: match.ComponentRef{Ref: c.Ref, Type: c.Type, Name: c.Name, Version: c.Version, PURL: c.PURL, Source: c.Source}}
	}
	return []match.Finding{
		f("CVE-2024-9143", refLibssl),
		f("CVE-2021-38561", refText, "GO-2021-0113", "GHSA-ppp9-7jff-5vj2"),
		f("CVE-2021-38561", refTextToo, "GO-2021-0113", "GHSA-ppp9-7jff-5vj2"),
		f("CVE-2022-32149", refText, "GO-2022-1059", "GHSA-69ch-w2m2-3vjp"),
		f("CVE-2022-32149", refTextToo, "GO-2022-1059", "GHSA-69ch-w2m2-3vjp"),
		f("CVE-2022-48174", refBusybox),
		f("CVE-2023-5678", refLibssl),
	}
}
