package client_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// client is closed and every node stopped in cleanups.
//
// The one exception is goleveldb's mpoolDrain, which belongs to the test
// node's datastore, not to this package: DB.Close does not wait for it and
// it lingers for up to a second after Close (leveldb/db_state.go), longer
// than goleak's retries. The node package ignores it for the same reason.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}
