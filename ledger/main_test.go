package ledger

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: webhook
// senders are stopped and their servers closed in cleanups. goleveldb's
// mpoolDrain is ignored: DB.Close does not wait for it and it exits on its
// own up to a second later (leveldb/db_state.go).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}
