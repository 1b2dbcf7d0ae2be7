//go:build tools

// Package tools pins nsc (github.com/nats-io/nsc/v2) for scripts/test-deps.sh:
// the operator-mode tests make their operators, accounts and users with it.
package tools

import _ "github.com/nats-io/nsc/v2"
