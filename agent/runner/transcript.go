package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"
)

// Entry is one line of transcript.jsonl.
type Entry struct {
	// TS is when it happened, in Unix milliseconds.
	TS int64 `json:"ts"`
	// Kind is KindIn, KindOut, KindTool or KindSession.
	Kind string `json:"kind"`
	// From and To are the message's sender and target (a tool call's To is
	// the tool's name).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Name is the sender's display name, when the node gave one.
	Name string `json:"name,omitempty"`
	// Content is the text, a tool call's arguments and result, or a
	// session note.
	Content string `json:"content"`
}

// Kinds of transcript entries.
const (
	KindIn      = "in"      // a message or marketplace event that reached the agent
	KindOut     = "out"     // a message the runner sent for the backend
	KindTool    = "tool"    // a tool call a backend made
	KindSession = "session" // a session started or ended
)

// transcriptFile is the transcript's name in the state directory.
const transcriptFile = "transcript.jsonl"

// maxEntryContent bounds one entry's content, so one huge message cannot
// crowd the rest of the transcript out of a prompt.
const maxEntryContent = 4000

// transcript is the bounded transcript.jsonl of an agent: appends go to the
// end of the file; when it holds more than twice keep lines, it is
// rewritten (to a temporary file, then renamed) with the last keep.
type transcript struct {
	path string
	keep int

	mu      sync.Mutex // guards lines and the file
	lines   int
	entries []Entry // the last keep entries, oldest first
}

// openTranscript reads the transcript in dir, skipping lines that are not
// entries (a line cut short by a crash).
func openTranscript(dir string, keep int) (*transcript, error) {
	t := &transcript{path: filepath.Join(dir, transcriptFile), keep: keep}
	data, err := os.ReadFile(t.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read transcript: %w", err)
	}
	t.entries = parseTranscript(data)
	t.lines = bytes.Count(data, []byte{'\n'})
	if len(t.entries) > keep {
		t.entries = t.entries[len(t.entries)-keep:]
	}
	return t, nil
}

// parseTranscript decodes the entries of a transcript file, skipping what
// does not decode.
func parseTranscript(data []byte) []Entry {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind != "" {
			out = append(out, e)
		}
	}
	return out
}

// add appends e (stamped now if it has no time) to the file and the
// in-memory tail.
func (t *transcript) add(e Entry) error {
	if e.TS == 0 {
		e.TS = time.Now().UnixMilli()
	}
	e.Content = capContent(e.Content)
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode transcript entry: %w", err)
	}
	line = append(line, '\n')
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = append(t.entries, e)
	if len(t.entries) > t.keep {
		t.entries = t.entries[len(t.entries)-t.keep:]
	}
	if t.lines+1 > 2*t.keep {
		return t.rewriteLocked()
	}
	f, err := os.OpenFile(t.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open transcript: %w", err)
	}
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append transcript: %w", err)
	}
	t.lines++
	return nil
}

// rewriteLocked replaces the file with the in-memory tail.
func (t *transcript) rewriteLocked() error {
	var b bytes.Buffer
	for _, e := range t.entries {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode transcript entry: %w", err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := WriteFileAtomic(t.path, b.Bytes()); err != nil {
		return fmt.Errorf("trim transcript: %w", err)
	}
	t.lines = len(t.entries)
	return nil
}

// has reports whether the kept entries hold e (same time, kind, sender,
// target and content).
func (t *transcript) has(e Entry) bool {
	e.Content = capContent(e.Content)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, x := range t.entries {
		if x.TS == e.TS && x.Kind == e.Kind && x.From == e.From && x.To == e.To && x.Content == e.Content {
			return true
		}
	}
	return false
}

// capContent cuts content to maxEntryContent bytes, at a rune boundary.
func capContent(s string) string {
	if len(s) <= maxEntryContent {
		return s
	}
	n := maxEntryContent
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// tail returns the last n entries, oldest first.
func (t *transcript) tail(n int) []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n > len(t.entries) {
		n = len(t.entries)
	}
	return append([]Entry(nil), t.entries[len(t.entries)-n:]...)
}

// WriteFileAtomic writes data to a temporary file beside path and renames it
// over path, so a reader sees the old or the new file, never half of one.
// The supervisor writes state.json with it too.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}
