package vulndb

import (
	"fmt"
	"math"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// maxVectorLen bounds CVSS vectors: the longest valid v4.0 vector, with every
// optional metric, is under 300 bytes.
const maxVectorLen = 512

// Severity is one CVSS vector with its base score.
type Severity struct {
	// Version is the CVSS version: "2.0", "3.0", "3.1" or "4.0".
	Version string  `json:"version"`
	Vector  string  `json:"vector"`
	Score   float64 `json:"score"`
	// Source says who assessed it: "osv" for the record itself, or the
	// provider named by the scores source ("nvd", "cna", "adp").
	Source string `json:"source,omitempty"`
}

// ParseCVSS parses a CVSS vector of any version and computes its base score
// with the rules of that version.
func ParseCVSS(vector string) (Severity, error) {
	if len(vector) > maxVectorLen {
		return Severity{}, fmt.Errorf("CVSS vector of %d bytes is longer than %d", len(vector), maxVectorLen)
	}
	// NVD used to wrap v2 vectors in parentheses.
	vector = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(vector), "("), ")")
	var (
		s   = Severity{Vector: vector}
		err error
	)
	switch {
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		// A v4.0 score counts every metric the vector carries (CVSS-B, -BT,
		// -BE...), which is how NVD and CNAs publish it.
		var v *gocvss40.CVSS40
		if v, err = gocvss40.ParseVector(vector); err == nil {
			s.Version, s.Score = "4.0", v.Score()
		}
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		var v *gocvss31.CVSS31
		if v, err = gocvss31.ParseVector(vector); err == nil {
			s.Version, s.Score = "3.1", v.BaseScore()
		}
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		var v *gocvss30.CVSS30
		if v, err = gocvss30.ParseVector(vector); err == nil {
			s.Version, s.Score = "3.0", v.BaseScore()
		}
	case strings.HasPrefix(vector, "AV:"):
		var v *gocvss20.CVSS20
		if v, err = gocvss20.ParseVector(vector); err == nil {
			s.Version, s.Score = "2.0", v.BaseScore()
		}
	default:
		return Severity{}, fmt.Errorf("CVSS vector %q: unknown version", vector)
	}
	if err != nil {
		return Severity{}, fmt.Errorf("CVSS vector %q: %w", vector, err)
	}
	if math.IsNaN(s.Score) || s.Score < 0 || s.Score > 10 {
		return Severity{}, fmt.Errorf("CVSS vector %q: base score %v out of range", vector, s.Score)
	}
	// One decimal, as every CVSS version specifies; the libraries' floats
	// may carry binary noise.
	s.Score = math.Round(s.Score*10) / 10
	return s, nil
}
