package bridge_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: every mesh
// a test starts is closed, and each node waits for its host, bridge and
// server. goleveldb's pool drainer outlives DB.Close by up to a second
// (it is not waited for by the library), so it is the one exception.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}
