package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// JournalEntry is one line of Config.Journal: a tool call, when it
// ended, its arguments and its result text.
type JournalEntry struct {
	TS      int64           `json:"ts"` // Unix milliseconds
	Tool    string          `json:"tool"`
	Args    json.RawMessage `json:"args"`
	Result  string          `json:"result"`
	IsError bool            `json:"is_error,omitempty"`
}

// maxJournalResult bounds the result text of one entry.
const maxJournalResult = 4000

// journal appends a call to Config.Journal; a failed write is logged (the
// call itself has happened).
func (s *Server) journal(tool string, in any, res *sdk.CallToolResult) {
	if s.cfg.Journal == "" {
		return
	}
	args, err := json.Marshal(in)
	if err != nil {
		args = []byte("null")
	}
	var text strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*sdk.TextContent); ok {
			text.WriteString(t.Text)
		}
	}
	e := JournalEntry{TS: time.Now().UnixMilli(), Tool: tool, Args: args, Result: text.String(), IsError: res.IsError}
	if len(e.Result) > maxJournalResult {
		e.Result = e.Result[:maxJournalResult]
	}
	line, err := json.Marshal(e)
	if err == nil {
		err = appendLine(s.cfg.Journal, line)
	}
	if err != nil {
		s.log.Warn("journal", "path", s.cfg.Journal, "err", err)
	}
}

// appendLine appends line and a newline to path in one write: calls run
// concurrently, and O_APPEND writes of one line each do not interleave on
// a local file system.
func appendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// TakeJournal reads the entries of a journal and removes them: the file
// is renamed away first, so a call journaled meanwhile goes to a new file
// for the next take. A line that does not decode is skipped; a missing
// journal has no entries.
func TakeJournal(path string) ([]JournalEntry, error) {
	taken := path + ".taken"
	if err := os.Rename(path, taken); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	data, err := os.ReadFile(taken)
	if err != nil {
		return nil, err
	}
	var out []JournalEntry
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		var e JournalEntry
		if json.Unmarshal(line, &e) == nil && e.Tool != "" {
			out = append(out, e)
		}
	}
	return out, os.Remove(taken)
}
