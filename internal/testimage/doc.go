// Package testimage builds real test inputs for Vigil's tests: Debian root
// filesystems made by debootstrap, real .deb files, Go binaries built from
// real module versions, npm packages, and container images assembled from
// them with go-containerregistry, written as docker-archive, OCI layout or
// oci-archive, or pushed to a registry on 127.0.0.1.
//
// Everything expensive is cached under CacheDir, keyed by a hash of its
// inputs, built under an exclusive flock and renamed into place when
// complete, so parallel test processes share one build and an interrupted
// build is never used. Cached files are shared: tests must not modify them.
//
// Tests that need a tool call Require, which skips when it is missing and
// fails when CI=true.
package testimage
