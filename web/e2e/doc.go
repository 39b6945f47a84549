// Package e2e tests the RouteGuide browser page end to end: a real server on
// loopback, driven through headless Chromium. It is a module of its own so
// that the browser driver stays out of the dependencies of those who import
// RouteGuide.
package e2e
