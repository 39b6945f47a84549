// Package deploy holds what runs RouteGuide elsewhere than on this machine
// (the Kubernetes manifests of deploy/kubernetes, the image build of
// build-image) and the tests that check them. It is its own module, so that
// k8s.io/api stays out of the application's go.mod.
package deploy
