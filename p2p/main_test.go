package p2p

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives its test: every host
// the tests build is closed, and Close waits for what Run started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
