package vulndb

import (
	"reflect"
	"testing"
	"time"
)

var sampleAffected = []Affected{
	{Ecosystem: "Debian:12", Name: "openssl", ID: "CVE-2023-5678", Ranges: []Range{{Type: RangeEcosystem, Events: []Event{
		{Introduced, "0"}, {Fixed, "3.0.13-1~deb12u1"}}}}},
	{Ecosystem: "Debian:12", Name: "openssl", ID: "CVE-2024-13176", Ranges: []Range{{Type: RangeEcosystem, Events: []Event{{Introduced, "0"}}}},
		Versions: []string{"3.0.15-1~deb12u1"}},
}

var sampleVuln = &Vulnerability{
	ID: "GO-2021-0113", Aliases: []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"}, Summary: "Out-of-bounds read in golang.org/x/text/language",
	Published:  time.Date(2021, 10, 6, 17, 51, 21, 0, time.UTC),
	Severity:   []Severity{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Score: 7.5, Source: "osv"}},
	References: []Reference{{Type: "FIX", URL: "https://go.dev/cl/340830"}},
	Packages: []Package{{Ecosystem: "Go", Name: "golang.org/x/text", Imports: []Import{
		{Path: "golang.org/x/text/language", Symbols: []string{"MatchStrings", "Parse"}}}}},
}

func TestEncodeRoundTrip(t *testing.T) {
	got, err := decodeAffected("Debian:12", "openssl", encodeAffected(sampleAffected))
	if err != nil || !reflect.DeepEqual(got, sampleAffected) {
		t.Errorf("affected round trip = %+v, %v", got, err)
	}
	v, err := decodeVulnerability(encodeVulnerability(sampleVuln))
	if err != nil || !reflect.DeepEqual(v, sampleVuln) {
		t.Errorf("vulnerability round trip = %+v, %v", v, err)
	}
	k := KEV{DateAdded: time.Date(2023, 11, 21, 0, 0, 0, 0, time.UTC), KnownRansomware: true}
	if got, err := decodeKEV(encodeKEV(k)); err != nil || *got != k {
		t.Errorf("KEV round trip = %+v, %v", got, err)
	}
	// Every truncation of a valid value is refused, never misread.
	full := encodeVulnerability(sampleVuln)
	for i := range full {
		if _, err := decodeVulnerability(full[:i]); err == nil {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to the decoders of stored values, as a
// damaged database file would: they must fail cleanly, and what they accept
// must survive encoding and decoding again unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(encodeAffected(sampleAffected))
	f.Add(encodeVulnerability(sampleVuln))
	f.Add(encodeSeverities(sampleVuln.Severity))
	f.Add(encodeKEV(KEV{DateAdded: time.Now()}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if list, err := decodeAffected("e", "n", b); err == nil {
			again, err := decodeAffected("e", "n", encodeAffected(list))
			if err != nil || !reflect.DeepEqual(again, list) {
				t.Errorf("affected list changed through a round trip: %v", err)
			}
		}
		if v, err := decodeVulnerability(b); err == nil {
			again, err := decodeVulnerability(encodeVulnerability(v))
			if err != nil || !reflect.DeepEqual(again, v) {
				t.Errorf("vulnerability changed through a round trip: %v", err)
			}
		}
		decodeSeverities(b)
		decodeKEV(b)
	})
}
