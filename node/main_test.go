package node_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test or benchmark leaves a goroutine
// behind: every node is stopped and every data dir closed in cleanups.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
