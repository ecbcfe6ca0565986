package config

import (
	"fmt"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/hygiene"
)

func imageIssues(cf *v1.ConfigFile) []hygiene.Issue {
	var issues []hygiene.Issue
	if root, why := rootUser(cf.Config.User); root {
		issues = append(issues, ruleRootUser.issue(hygiene.Medium, "config.User",
			"the image runs as root: "+why+"; any process escaping the application starts as root"))
	}
	if hc := cf.Config.Healthcheck; hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		issues = append(issues, ruleHealthcheck.issue(hygiene.Low, "config.Healthcheck",
			"the image has no HEALTHCHECK, so Docker cannot tell a hung container from a healthy one"))
	}
	for i, h := range cf.History {
		if u := addURL.FindStringSubmatch(h.CreatedBy); u != nil {
			issues = append(issues, ruleAddURL.issue(hygiene.Medium, fmt.Sprintf("history[%d].created_by", i),
				fmt.Sprintf("ADD fetched %s at build time without a checksum: what the image holds depends on that server on the day", u[1])))
		}
	}
	return issues
}

// addURL finds ADD with a remote source in a history entry, in the classic
// builder's form ("/bin/sh -c #(nop) ADD https://... in /opt") and
// BuildKit's ("ADD https://... /opt # buildkit"). ADD --checksum= is pinned
// and not matched.
var addURL = regexp.MustCompile(`(?:^|#\(nop\)\s+)ADD\s+(?:--(?:chown|chmod|link|keep-git-dir)\S*\s+)*((?:https?|git)://\S+|git@\S+)`)

// rootUser says whether a USER value runs as root: empty, "root", uid 0,
// with any group.
func rootUser(u string) (bool, string) {
	user, _, _ := strings.Cut(u, ":")
	switch user {
	case "":
		return true, "no USER is set"
	case "root", "0":
		return true, fmt.Sprintf("USER is %q", u)
	}
	return false, ""
}
