package secret

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/layers"
)

// assignment finds NAME=value in a history entry: `ENV A=b`, `ARG A=b`, and
// the build arguments BuildKit records in front of a RUN (`|2 A=b C=d
// /bin/sh -c ...`).
var assignment = regexp.MustCompile(`(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S+)`)

// metadataIssues finds secrets in the config's environment and in the
// history's created_by and comment, reporting each secret once.
func metadataIssues(in *hygiene.Input) []hygiene.Issue {
	if in.Source == nil || in.Source.Config == nil {
		return nil
	}
	var infos []layers.Info
	if in.FS != nil {
		infos = in.FS.Layers()
	}
	var issues []hygiene.Issue
	seen := map[string]int{} // fingerprint → index in issues
	report := func(d detection, field string, layer *layers.Info) {
		if i, ok := seen[d.fingerprint]; ok {
			if !strings.Contains(issues[i].Message, field) {
				issues[i].Message += "; also in " + field
			}
			return
		}
		seen[d.fingerprint] = len(issues)
		issues = append(issues, hygiene.Issue{
			Rule:     Rule,
			Severity: cmp.Or(severities[d.rule.id], hygiene.High),
			Title:    fmt.Sprintf("%s in %s", d.rule.title, field),
			Message:  fmt.Sprintf("%s (rule %s) in %s", d.rule.title, d.rule.id, field),
			Field:    field,
			Layer:    layer,
			Evidence: d.evidence,
			Remediation: "Do not bake secrets into ENV or build arguments: both are stored in the image config " +
				"for anyone who pulls it. Use `RUN --mount=type=secret` at build time and inject run-time secrets " +
				"from the orchestrator; rotate this one.",
		})
	}
	text := func(s, field string, layer *layers.Info, assignRule *rule) {
		b := []byte(s)
		detect(b, len(b), func(d detection) { report(d, field, layer) })
		for _, m := range assignment.FindAllStringSubmatch(s, -1) {
			v := strings.Trim(m[2], `"'`)
			if secretAssignment(m[1], []byte(v)) {
				report(detection{rule: assignRule, evidence: assignmentEvidence(m[1], []byte(v)), fingerprint: fingerprint([]byte(v))}, field, layer)
			}
		}
	}
	for i, e := range in.Source.Config.Config.Env {
		text(e, fmt.Sprintf("config.Env[%d]", i), nil, ruleEnv)
	}
	layer := 0
	for i, h := range in.Source.Config.History {
		var info *layers.Info
		if !h.EmptyLayer {
			info = hygiene.LayerInfo(infos, layer)
			layer++
		}
		text(h.CreatedBy, fmt.Sprintf("history[%d].created_by", i), info, ruleBuildArg)
		text(h.Comment, fmt.Sprintf("history[%d].comment", i), info, ruleBuildArg)
	}
	return issues
}
