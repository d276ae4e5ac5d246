//go:build tools

// Package tools pins kube-apiserver as a dependency of this module so `go build` can build it.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
