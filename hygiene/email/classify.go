package email

import (
	"regexp"
	"slices"
	"strings"
)

// Kind is what an address is taken for.
type Kind uint8

const (
	// Unknown addresses are neither clearly a role nor clearly a person
	// ("jdoe@acme.io").
	Unknown Kind = iota
	// Role addresses reach a function, not a person: security@, support@,
	// noreply@, mailing lists.
	Role
	// Personal addresses name a person or use a free-mail provider.
	Personal
)

func (k Kind) String() string {
	switch k {
	case Role:
		return "role"
	case Personal:
		return "personal"
	}
	return "unknown"
}

// addressRE finds addresses in free text. The top-level domain must be
// letters, which leaves out npm and Docker references ("lodash@4.17.21",
// "image@sha256:...") that share the shape.
var addressRE = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}\b`)

// maxAddresses bounds the addresses taken from one text.
const maxAddresses = 64

// Addresses returns the e-mail addresses in s, lower-cased, each once.
func Addresses(s string) []string {
	var out []string
	for _, m := range addressRE.FindAllString(s, maxAddresses) {
		a := strings.ToLower(m)
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Role local parts: RFC 2142 mailbox names (abuse, hostmaster, noc,
// postmaster, security, support, webmaster ...) plus the functional
// addresses projects and companies publish in image metadata.
var roleLocal = set(
	// RFC 2142
	"abuse", "hostmaster", "info", "marketing", "noc", "postmaster", "sales", "security", "support", "usenet", "uucp", "webmaster", "www",
	// no-reply and automation
	"noreply", "no-reply", "donotreply", "do-not-reply", "bounce", "bounces", "mailer-daemon", "notifications", "bot", "ci", "build", "builds", "release", "releases", "robot",
	// teams and functions
	"admin", "administrator", "contact", "dev", "developers", "devops", "docker", "containers", "engineering", "feedback", "hello", "help", "helpdesk", "hr", "it", "legal", "maintainers", "maintainer", "office", "ops", "packaging", "packages", "platform", "press", "privacy", "root", "secure", "security-team", "sre", "team", "git", "opensource", "oss", "community", "billing", "careers", "jobs", "mail", "cloud", "infra", "infrastructure", "psirt", "cert", "csirt", "vulnerabilities", "disclosure",
)

// roleWords make a local part of several words a role or list address
// wherever they stand: Mailman's foo-users@ and -announce@, Debian's
// pkg-foo-devel@, docker-maint@, security.team@. Words that are also given
// names or initials (dev, it, hr) count only as a whole local part.
var roleWords = set(
	"abuse", "admin", "admins", "announce", "bot", "bots", "bounce", "bugs", "build", "builds", "commits", "community", "contact",
	"developers", "devel", "discuss", "docker", "engineering", "feedback", "general", "help", "helpdesk", "info", "list", "lists",
	"maint", "maintainer", "maintainers", "noreply", "notifications", "ops", "owner", "packaging", "release", "releases", "request",
	"security", "sre", "support", "team", "users", "webmaster",
)

// Mailing-list hosts: every address there is a list.
var listDomains = []string{"googlegroups.com", "groups.io", "lists.sourceforge.net"}

// Free-mail providers: an address there is a person's (or stands in for
// one), whatever its local part. From the providers with the most users
// worldwide; see e.g. the free-mail lists used by spam filters
// (SpamAssassin's freemail_domains).
var freeMail = set(
	"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.co.jp", "yahoo.fr", "yahoo.de", "ymail.com", "rocketmail.com",
	"hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "outlook.com", "outlook.de", "live.com", "live.co.uk", "msn.com",
	"icloud.com", "me.com", "mac.com", "aol.com", "protonmail.com", "protonmail.ch", "proton.me", "pm.me", "tutanota.com", "tuta.io",
	"gmx.com", "gmx.de", "gmx.net", "gmx.at", "web.de", "t-online.de", "freenet.de", "mail.com", "fastmail.com", "fastmail.fm", "hey.com",
	"zoho.com", "yandex.com", "yandex.ru", "ya.ru", "mail.ru", "inbox.ru", "bk.ru", "list.ru", "rambler.ru",
	"qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "naver.com", "daum.net", "hanmail.net",
	"orange.fr", "free.fr", "laposte.net", "libero.it", "virgilio.it", "posteo.de", "posteo.net", "mailbox.org", "seznam.cz", "wp.pl", "o2.pl", "interia.pl",
	"comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "btinternet.com", "sky.com", "shaw.ca", "rogers.com",
)

// nameLike matches local parts made of two or three alphabetic parts
// joined by a dot or underscore: jane.doe, j.doe, jane_q_public.
var nameLike = regexp.MustCompile(`^[a-z]+[._][a-z]+(?:[._][a-z]+)?$`)

// Classify says whether addr (lower case) is a role address, a personal
// one, or cannot be told, and why.
func Classify(addr string) (Kind, string) {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return Unknown, ""
	}
	if domain == "users.noreply.github.com" {
		return Role, "GitHub's anonymous no-reply address"
	}
	if freeMail[domain] {
		return Personal, "free-mail domain " + domain
	}
	if strings.HasPrefix(domain, "lists.") || strings.Contains(domain, ".lists.") || hasSuffixDomain(domain, listDomains) {
		return Role, "mailing list"
	}
	// Sub-addressing (jane+docker@) does not change whose address it is.
	local, _, _ = strings.Cut(local, "+")
	if roleLocal[local] {
		return Role, "role address"
	}
	for w := range strings.FieldsFuncSeq(local, func(r rune) bool { return r == '-' || r == '.' || r == '_' }) {
		if roleWords[w] {
			return Role, "role or list address"
		}
	}
	if nameLike.MatchString(local) {
		return Personal, "the local part is a name"
	}
	return Unknown, ""
}

func hasSuffixDomain(domain string, list []string) bool {
	for _, d := range list {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

func set(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}
