package node_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test or benchmark leaves a goroutine
// behind: every node is stopped and every data dir closed in cleanups.
//
// The one exception is goleveldb's mpoolDrain: DB.Close does not wait for
// it, and it lingers for up to one second after Close (it waits on a
// time.After before exiting, leveldb/db_state.go), longer than goleak's
// retries. It is not ours and it does end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}
