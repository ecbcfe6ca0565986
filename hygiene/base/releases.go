package base

import "time"

// Release is one distribution release's support window.
type Release struct {
	// Distro and Version are as os-release says: ID and VERSION_ID (Alpine
	// by branch, "3.19"; Ubuntu in full, "22.04"; the others by major).
	Distro, Version string
	Name            string
	// Security is when regular security support ends.
	Security time.Time
	// Extended, when set, is when the extended phase after it ends
	// (Debian LTS, Ubuntu ESM, RHEL ELS); ExtendedBy names it, and Paid
	// says it needs a subscription most images do not have.
	Extended   time.Time
	ExtendedBy string
	Paid       bool
	// Source is where the dates come from.
	Source string
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	debianReleases = "https://www.debian.org/releases/ and https://wiki.debian.org/LTS"
	ubuntuCycle    = "https://ubuntu.com/about/release-cycle"
	alpineReleases = "https://alpinelinux.org/releases/"
	rhelLifecycle  = "https://access.redhat.com/support/policy/updates/errata"
	centosEOL      = "https://www.centos.org/centos-linux-eol/ and https://www.centos.org/centos-stream/"
	amazonLinux    = "https://aws.amazon.com/amazon-linux-2/faqs/ and https://docs.aws.amazon.com/linux/al2023/ug/release-cadence.html"
)

// Releases is the shipped table. Ubuntu publishes months, not days: those
// rows use the month's last day. Dates after 2026-11 are the vendors'
// announced plans.
var Releases = []Release{
	// Debian: security support by the security team, then LTS (free,
	// volunteer-run, a subset of packages and architectures).
	{Distro: "debian", Version: "8", Name: "Debian 8 (jessie)", Security: day("2018-06-17"), Extended: day("2020-06-30"), ExtendedBy: "Debian LTS", Source: debianReleases},
	{Distro: "debian", Version: "9", Name: "Debian 9 (stretch)", Security: day("2020-07-06"), Extended: day("2022-06-30"), ExtendedBy: "Debian LTS", Source: debianReleases},
	{Distro: "debian", Version: "10", Name: "Debian 10 (buster)", Security: day("2022-09-10"), Extended: day("2024-06-30"), ExtendedBy: "Debian LTS", Source: debianReleases},
	{Distro: "debian", Version: "11", Name: "Debian 11 (bullseye)", Security: day("2024-08-14"), Extended: day("2026-08-31"), ExtendedBy: "Debian LTS", Source: debianReleases},
	{Distro: "debian", Version: "12", Name: "Debian 12 (bookworm)", Security: day("2026-06-10"), Extended: day("2028-06-30"), ExtendedBy: "Debian LTS", Source: debianReleases},
	{Distro: "debian", Version: "13", Name: "Debian 13 (trixie)", Security: day("2028-08-09"), Extended: day("2030-06-30"), ExtendedBy: "Debian LTS", Source: debianReleases},

	// Ubuntu LTS: standard support, then ESM with Ubuntu Pro (16.04 has a
	// further paid Legacy add-on to 2028-04, not counted). Interim
	// releases get nine months and no ESM.
	{Distro: "ubuntu", Version: "14.04", Name: "Ubuntu 14.04 LTS (Trusty Tahr)", Security: day("2019-04-30"), Extended: day("2024-04-30"), ExtendedBy: "Ubuntu Pro ESM", Paid: true, Source: ubuntuCycle},
	{Distro: "ubuntu", Version: "16.04", Name: "Ubuntu 16.04 LTS (Xenial Xerus)", Security: day("2021-04-30"), Extended: day("2026-04-30"), ExtendedBy: "Ubuntu Pro ESM", Paid: true, Source: ubuntuCycle},
	{Distro: "ubuntu", Version: "18.04", Name: "Ubuntu 18.04 LTS (Bionic Beaver)", Security: day("2023-05-31"), Extended: day("2028-04-30"), ExtendedBy: "Ubuntu Pro ESM", Paid: true, Source: ubuntuCycle},
	{Distro: "ubuntu", Version: "20.04", Name: "Ubuntu 20.04 LTS (Focal Fossa)", Security: day("2025-05-31"), Extended: day("2030-04-30"), ExtendedBy: "Ubuntu Pro ESM", Paid: true, Source: ubuntuCycle},
	{Distro: "ubuntu", Version: "22.04", Name: "Ubuntu 22.04 LTS (Jammy Jellyfish)", Security: day("2027-06-30"), Extended: day("2032-04-30"), ExtendedBy: "Ubuntu Pro ESM", Paid: true, Source: ubuntuCycle},
	{Distro: "ubuntu", Version: "24.04", Name: "Ubuntu 24.04 LTS (Noble Numbat)", Security: day("2029-05-31"), Extended: day("2034-04-30"), ExtendedBy: "Ubuntu Pro ESM", Paid: true, Source: ubuntuCycle},
	{Distro: "ubuntu", Version: "23.04", Name: "Ubuntu 23.04 (Lunar Lobster)", Security: day("2024-01-25"), Source: ubuntuCycle},
	{Distro: "ubuntu", Version: "23.10", Name: "Ubuntu 23.10 (Mantic Minotaur)", Security: day("2024-07-11"), Source: ubuntuCycle},
	{Distro: "ubuntu", Version: "24.10", Name: "Ubuntu 24.10 (Oracular Oriole)", Security: day("2025-07-10"), Source: ubuntuCycle},

	// Alpine: the main repository of each branch is supported two years.
	{Distro: "alpine", Version: "3.12", Name: "Alpine 3.12", Security: day("2022-05-01"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.13", Name: "Alpine 3.13", Security: day("2022-11-01"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.14", Name: "Alpine 3.14", Security: day("2023-05-01"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.15", Name: "Alpine 3.15", Security: day("2023-11-01"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.16", Name: "Alpine 3.16", Security: day("2024-05-23"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.17", Name: "Alpine 3.17", Security: day("2024-11-22"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.18", Name: "Alpine 3.18", Security: day("2025-05-09"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.19", Name: "Alpine 3.19", Security: day("2025-11-01"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.20", Name: "Alpine 3.20", Security: day("2026-04-01"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.21", Name: "Alpine 3.21", Security: day("2026-11-01"), Source: alpineReleases},
	{Distro: "alpine", Version: "3.22", Name: "Alpine 3.22", Security: day("2027-05-01"), Source: alpineReleases},

	// RHEL and UBI (os-release ID rhel): maintenance support, then the
	// paid Extended Life Cycle Support add-on.
	{Distro: "rhel", Version: "7", Name: "Red Hat Enterprise Linux 7", Security: day("2024-06-30"), Extended: day("2028-06-30"), ExtendedBy: "Red Hat ELS", Paid: true, Source: rhelLifecycle},
	{Distro: "rhel", Version: "8", Name: "Red Hat Enterprise Linux 8", Security: day("2029-05-31"), Extended: day("2032-05-31"), ExtendedBy: "Red Hat ELS", Paid: true, Source: rhelLifecycle},
	{Distro: "rhel", Version: "9", Name: "Red Hat Enterprise Linux 9", Security: day("2032-05-31"), Extended: day("2035-05-31"), ExtendedBy: "Red Hat ELS", Paid: true, Source: rhelLifecycle},

	// CentOS Linux and CentOS Stream share the ID; both 8s are over.
	{Distro: "centos", Version: "7", Name: "CentOS Linux 7", Security: day("2024-06-30"), Source: centosEOL},
	{Distro: "centos", Version: "8", Name: "CentOS Linux 8 / Stream 8", Security: day("2024-05-31"), Source: centosEOL},
	{Distro: "centos", Version: "9", Name: "CentOS Stream 9", Security: day("2027-05-31"), Source: centosEOL},

	{Distro: "amzn", Version: "2018.03", Name: "Amazon Linux AMI 2018.03", Security: day("2023-12-31"), Source: amazonLinux},
	{Distro: "amzn", Version: "2", Name: "Amazon Linux 2", Security: day("2026-06-30"), Source: amazonLinux},
	{Distro: "amzn", Version: "2023", Name: "Amazon Linux 2023", Security: day("2029-06-30"), Source: amazonLinux},
}
