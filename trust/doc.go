// Package trust signs and verifies container images the way cosign does,
// offline and against local keys: simple-signing signatures stored under
// the registry tag sha256-<digest>.sig, in-toto attestations (SLSA
// provenance, Vigil's CycloneDX scan results) in DSSE envelopes under
// sha256-<digest>.att, and, as cosign 3 attaches both, Sigstore bundles
// as OCI 1.1 referrers of the image (keys, or keyless identities under a
// trusted root). Cryptography and key formats are sigstore's
// (github.com/sigstore/sigstore, as sigstore-go uses); this package only
// knows where cosign puts things in a registry and what must be checked
// before a signature counts.
//
// Nothing here trusts the registry: every blob is bounded in size and
// checked against its digest, and a signature counts only when it verifies
// with a trusted key and names the digest being verified.
package trust
