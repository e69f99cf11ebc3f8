package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/agentchat/mesh/protocol"
)

// inboxTypes are the frames the inbox records (§20, with the marketplace
// search frames the original re-emitted as messages).
var inboxTypes = map[string]bool{
	protocol.TypeMsg: true, protocol.TypeAgentJoined: true, protocol.TypeAgentLeft: true,
	protocol.TypeProposal: true, protocol.TypeAccept: true, protocol.TypeReject: true,
	protocol.TypeComplete: true, protocol.TypeDispute: true,
	protocol.TypeSkillsRegistered: true, protocol.TypeSearchResults: true,
}

// inbox writes received frames to inbox.jsonl, newdata and receipts.jsonl.
// Its methods are safe for concurrent use: Run's goroutine records events,
// the outbox goroutine the replay of channels it joins.
type inbox struct {
	dir string
	max int

	mu sync.Mutex // guards the fields below and the inbox files
	// lines counts inbox.jsonl's lines as this daemon knows them; another
	// writer (the MCP server, §20) may add more, which the next trim sees.
	lines int
	// seen holds the msg_ids of MSGs in the inbox, oldest first in order,
	// so a replayed message already recorded is not recorded again.
	seen  map[string]struct{}
	order []string
	// self is the agent's "@id" on the current connection, for receipts.
	self string
}

// frameHeader is what the inbox reads of a frame.
type frameHeader struct {
	Type   string `json:"type"`
	MsgID  string `json:"msg_id"`
	Replay bool   `json:"replay"`
}

// openInbox reads what inbox.jsonl already holds: its line count and the
// msg_ids of its messages.
func openInbox(dir string, max int) (*inbox, error) {
	in := &inbox{dir: dir, max: max, seen: map[string]struct{}{}}
	data, err := os.ReadFile(filepath.Join(dir, inboxFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	for _, line := range splitLines(data) {
		in.lines++
		var h frameHeader
		if json.Unmarshal(line, &h) == nil && h.Type == protocol.TypeMsg {
			in.remember(h.MsgID)
		}
	}
	return in, nil
}

// setSelf records the agent's ID on the current connection.
func (in *inbox) setSelf(id string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.self = id
}

// record appends a frame of type typ if the inbox keeps that type. data is
// the frame as received.
func (in *inbox) record(typ string, data []byte) error {
	if !inboxTypes[typ] {
		return nil
	}
	var h frameHeader
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("inbox: decode %s frame: %w", typ, err)
	}
	if bytes.ContainsAny(data, "\r\n") {
		// Whitespace between JSON tokens would break one frame per line.
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			return fmt.Errorf("inbox: compact %s frame: %w", typ, err)
		}
		data = buf.Bytes()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if typ == protocol.TypeMsg && h.MsgID != "" {
		if _, dup := in.seen[h.MsgID]; dup && h.Replay {
			return nil // history a JOIN replays that the inbox already has
		}
	}
	if err := in.appendLocked(data); err != nil {
		return err
	}
	if typ == protocol.TypeMsg {
		in.remember(h.MsgID)
	}
	if typ == protocol.TypeComplete {
		return in.receiptLocked(data)
	}
	return nil
}

// appendLocked appends one line, keeping the inbox to its last max lines,
// and rewrites newdata. While the inbox is short the line is appended in
// place; once it is full the append and the trim are one rewrite (temp
// file + rename), so a reader never sees more than max lines.
func (in *inbox) appendLocked(line []byte) error {
	path := filepath.Join(in.dir, inboxFile)
	if in.lines+1 > in.max {
		if err := in.rewriteLocked(path, line); err != nil {
			return err
		}
	} else {
		if err := appendLine(path, line); err != nil {
			return err
		}
		in.lines++
	}
	return writeAtomic(filepath.Join(in.dir, newdataFile), []byte(nowMillis()))
}

// rewriteLocked writes the inbox again as its lines plus line, cut to the
// last max. Like the original, it races with other writers of the inbox: a
// line another process appends between the read and the rename is lost.
func (in *inbox) rewriteLocked(path string, line []byte) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("trim inbox: %w", err)
	}
	lines := append(splitLines(data), line)
	if len(lines) > in.max {
		lines = lines[len(lines)-in.max:]
	}
	out := make([]byte, 0, len(data)+len(line)+1)
	for _, l := range lines {
		out = append(append(out, l...), '\n')
	}
	if err := writeAtomic(path, out); err != nil {
		return fmt.Errorf("trim inbox: %w", err)
	}
	in.lines = len(lines)
	return nil
}

// remember adds a msg_id to the seen set, forgetting the oldest beyond
// what a full inbox can hold.
func (in *inbox) remember(id string) {
	if id == "" {
		return
	}
	if _, ok := in.seen[id]; ok {
		return
	}
	in.seen[id] = struct{}{}
	in.order = append(in.order, id)
	if len(in.order) > 2*in.max {
		drop := len(in.order) - in.max
		for _, old := range in.order[:drop] {
			delete(in.seen, old)
		}
		in.order = append([]string(nil), in.order[drop:]...)
	}
}

// completeParties are the fields of a COMPLETE frame that name an agent
// (§12.5).
type completeParties struct {
	From        string `json:"from"`
	To          string `json:"to"`
	CompletedBy string `json:"completed_by"`
	Proposal    *struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"proposal"`
}

// receiptLocked appends a COMPLETE frame that involves this agent to
// receipts.jsonl with stored_at added (§12.5). The local rating update the
// original ran at the same time is not done here.
func (in *inbox) receiptLocked(data []byte) error {
	var p completeParties
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("receipt: decode COMPLETE: %w", err)
	}
	ids := []string{p.From, p.To, p.CompletedBy}
	if p.Proposal != nil {
		ids = append(ids, p.Proposal.From, p.Proposal.To)
	}
	self := strings.TrimPrefix(in.self, "@")
	mine := false
	for _, id := range ids {
		if self != "" && strings.TrimPrefix(id, "@") == self {
			mine = true
		}
	}
	if !mine {
		return nil
	}
	line, err := withStoredAt(data, nowMillis())
	if err != nil {
		return fmt.Errorf("receipt: %w", err)
	}
	return appendLine(filepath.Join(in.dir, receiptsFile), line)
}

// withStoredAt adds "stored_at":ms as the last field of a JSON object,
// leaving the frame's own bytes as they were.
func withStoredAt(obj []byte, ms string) ([]byte, error) {
	obj = bytes.TrimSpace(obj)
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, errors.New("frame is not a JSON object")
	}
	body := bytes.TrimSpace(obj[1 : len(obj)-1])
	out := make([]byte, 0, len(obj)+24)
	out = append(out, '{')
	out = append(out, body...)
	if len(body) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"stored_at":`...)
	out = append(out, ms...)
	return append(out, '}'), nil
}

// splitLines returns the non-empty lines of data, without their newlines.
func splitLines(data []byte) [][]byte {
	var out [][]byte
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line)
		}
	}
	return out
}
