// Package deploy holds the Kubernetes manifests for Vigil's admission
// webhook (vigil-admission.yaml); it has no code, only a test that the
// manifests decode and agree with the admission package.
package deploy
