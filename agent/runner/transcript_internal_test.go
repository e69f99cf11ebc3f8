package runner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestTranscriptBounded pins the bound: the file never holds more than
// twice keep lines, a reopened transcript has the last keep entries, and a
// torn last line (a crash mid-write) is skipped.
func TestTranscriptBounded(t *testing.T) {
	dir := t.TempDir()
	tr, err := openTranscript(dir, 3)
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, tr.add(Entry{Kind: KindIn, From: "@a", To: "#general", Content: fmt.Sprint("m", i)}))
		data, err := os.ReadFile(filepath.Join(dir, transcriptFile))
		require.NoError(t, err)
		require.LessOrEqual(t, bytes.Count(data, []byte{'\n'}), 6)
	}
	f, err := os.OpenFile(filepath.Join(dir, transcriptFile), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"ts":1,"kind":"in","cont`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	again, err := openTranscript(dir, 3)
	require.NoError(t, err)
	var got []string
	for _, e := range again.tail(5) {
		got = append(got, e.Content)
	}
	require.Equal(t, []string{"m7", "m8", "m9"}, got)
	require.Len(t, tr.tail(2), 2)
}

// TestTranscriptCapsEntries pins that one huge message is cut, so it
// cannot crowd the rest out of a prompt.
func TestTranscriptCapsEntries(t *testing.T) {
	tr, err := openTranscript(t.TempDir(), 10)
	require.NoError(t, err)
	require.NoError(t, tr.add(Entry{Kind: KindIn, Content: string(bytes.Repeat([]byte("x"), 3*maxEntryContent))}))
	require.Less(t, len(tr.tail(1)[0].Content), maxEntryContent+8)

	long := "a" + strings.Repeat("é", maxEntryContent)
	require.NoError(t, tr.add(Entry{TS: 5, Kind: KindIn, Content: long}))
	require.True(t, utf8.ValidString(tr.tail(1)[0].Content), "cut at a rune boundary")
	require.True(t, tr.has(Entry{TS: 5, Kind: KindIn, Content: long}), "has compares the cut content")
}

// FuzzParseTranscript feeds the transcript parser arbitrary files: it
// never panics, and what it returns encodes and parses back the same.
func FuzzParseTranscript(f *testing.F) {
	f.Add([]byte(`{"ts":1,"kind":"in","from":"@a","to":"#general","content":"hi"}` + "\n" + `{"ts":2,"kind":"out","to":"#general","content":"yo"}` + "\n"))
	f.Add([]byte("garbage\n{\"kind\":\n"))
	f.Add([]byte(`{"kind":"session","content":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries := parseTranscript(data)
		dir := t.TempDir()
		tr := &transcript{path: filepath.Join(dir, transcriptFile), keep: len(entries) + 1, entries: entries}
		tr.mu.Lock()
		err := tr.rewriteLocked()
		tr.mu.Unlock()
		require.NoError(t, err)
		back, err := os.ReadFile(tr.path)
		require.NoError(t, err)
		require.Equal(t, entries, parseTranscript(back))
	})
}
