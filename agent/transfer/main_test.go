package transfer

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// client, Sender, Receiver and mesh is closed in cleanups.
//
// The one exception is goleveldb's mpoolDrain, which belongs to the test
// nodes' datastores: DB.Close does not wait for it and it lingers for up to
// a second after Close (leveldb/db_state.go), longer than goleak's retries.
// The node and client packages ignore it for the same reason.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}
