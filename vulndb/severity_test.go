package vulndb_test

import (
	"testing"

	"github.com/vigilsec/vigil/vulndb"
)

func TestParseCVSS(t *testing.T) {
	tests := []struct {
		vector  string
		version string
		score   float64
		bad     bool
	}{
		{vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", version: "3.1", score: 9.8},
		{vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", version: "3.1", score: 5.3},
		{vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", version: "3.0", score: 7.5},
		{vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", version: "3.1", score: 0},
		{vector: "AV:N/AC:M/Au:N/C:P/I:N/A:N", version: "2.0", score: 4.3},
		{vector: "(AV:N/AC:L/Au:N/C:C/I:C/A:C)", version: "2.0", score: 10},
		// From cvss.json.gz: CVE-2016-15039's CNA vector, published 5.3.
		{vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", version: "4.0", score: 5.3},
		{vector: "CVSS:3.1/AV:X/AC:L", bad: true},
		{vector: "CVSS:9.9/AV:N", bad: true},
		{vector: "high", bad: true},
		{vector: "", bad: true},
	}
	for _, tt := range tests {
		s, err := vulndb.ParseCVSS(tt.vector)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseCVSS(%q) = %+v, want an error", tt.vector, s)
			}
			continue
		}
		if err != nil || s.Version != tt.version || s.Score != tt.score {
			t.Errorf("ParseCVSS(%q) = %+v, %v; want %s %.1f", tt.vector, s, err, tt.version, tt.score)
		}
	}
}

func FuzzParseCVSS(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
	f.Add("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N/E:P")
	f.Add("AV:N/AC:M/Au:N/C:P/I:N/A:N")
	f.Add("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:H/RL:O")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := vulndb.ParseCVSS(v)
		if err == nil && (s.Score < 0 || s.Score > 10) {
			t.Errorf("ParseCVSS(%q) score %v", v, s.Score)
		}
	})
}
