package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Names of the files in an instance directory (see doc.go).
const (
	inboxFile    = "inbox.jsonl"
	outboxFile   = "outbox.jsonl"
	sendingFile  = "outbox.jsonl.sending"
	posFile      = "outbox.jsonl.sending.pos"
	rejectedFile = "outbox.rejected.jsonl"
	receiptsFile = "receipts.jsonl"
	logFile      = "daemon.log"
	pidFile      = "daemon.pid"
	newdataFile  = "newdata"
	statusFile   = "status.json"
)

// filePerm and dirPerm keep the agent's messages private to its user.
const (
	filePerm = 0o600
	dirPerm  = 0o700
)

// writeAtomic replaces path with data: it writes a temp file in the same
// directory, syncs it and renames it over path, so a reader sees the old
// content or the new, never a mix.
func writeAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp.*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, filePerm)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// appendLine appends line and a newline to path with one write, creating
// the file if needed.
func appendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, filePerm)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(line)+1)
	buf = append(append(buf, line...), '\n')
	_, err = f.Write(buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	return nil
}

// nowMillis is the time as ms since the epoch, in decimal.
func nowMillis() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }
