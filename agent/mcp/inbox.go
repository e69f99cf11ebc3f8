package mcp

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Message is one entry of an agentchat_listen result: a chat message
// (Type "") or a marketplace frame addressed to the agent (Type "PROPOSAL",
// "ACCEPT", "REJECT", "COMPLETE" or "DISPUTE", with the frame in Frame).
type Message struct {
	From     string `json:"from"`
	FromName string `json:"from_name"`
	To       string `json:"to"`
	Content  string `json:"content"`
	TS       int64  `json:"ts"`
	MsgID    string `json:"msg_id,omitempty"`
	// Replay marks a message the node replayed from a channel's history
	// when the agent joined it.
	Replay bool `json:"replay,omitempty"`
	// Type, ProposalID and Frame describe a marketplace frame.
	Type       string          `json:"type,omitempty"`
	ProposalID string          `json:"proposal_id,omitempty"`
	Frame      json.RawMessage `json:"frame,omitempty"`
	// Truncated says Content (and Frame) were cut to fit MaxListenChars.
	Truncated bool `json:"truncated,omitempty"`
}

// key identifies a message for de-duplication: a node replays a channel's
// history on every JOIN, including the re-joins after a reconnect.
func (m *Message) key() string {
	if m.MsgID != "" {
		return m.Type + "|" + m.MsgID
	}
	return m.Type + "|" + strconv.FormatInt(m.TS, 10) + "|" + m.From + "|" + m.To + "|" + m.ProposalID + "|" + m.Content
}

// size is what a message costs the inbox's character bound.
func (m *Message) size() int { return len(m.Content) + len(m.Frame) + 64 }

// chars is the message's length in a listen result, in characters of its
// JSON encoding (the unit of MaxListenChars).
func (m *Message) chars() int {
	b, err := json.Marshal(m)
	if err != nil {
		return 0
	}
	return utf8.RuneCount(b)
}

type entry struct {
	msg       Message
	key       string
	delivered bool
}

// inbox buffers the messages of a connection in memory until
// agentchat_listen takes them. It is bounded by message count and by
// characters; past either bound the oldest entries are dropped, and those
// never delivered are counted. Delivered entries stay (for tail) until they
// age out. Its methods are safe for concurrent use.
type inbox struct {
	maxMsgs, maxChars int

	mu      sync.Mutex // guards the fields below
	entries []*entry   // oldest first
	keys    map[string]struct{}
	chars   int
	dropped uint64        // undelivered entries dropped for room
	notify  chan struct{} // closed and replaced by every add
}

func newInbox(maxMsgs, maxChars int) *inbox {
	return &inbox{maxMsgs: maxMsgs, maxChars: maxChars, keys: map[string]struct{}{}, notify: make(chan struct{})}
}

// add buffers m unless an entry with the same key is buffered already, and
// wakes the waiting listens. It reports whether m was added.
func (in *inbox) add(m Message) bool {
	k := m.key()
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, dup := in.keys[k]; dup {
		return false
	}
	in.entries = append(in.entries, &entry{msg: m, key: k})
	in.keys[k] = struct{}{}
	in.chars += m.size()
	for len(in.entries) > 1 && (len(in.entries) > in.maxMsgs || in.chars > in.maxChars) {
		old := in.entries[0]
		in.entries[0] = nil
		in.entries = in.entries[1:]
		delete(in.keys, old.key)
		in.chars -= old.msg.size()
		if !old.delivered {
			in.dropped++
		}
	}
	close(in.notify)
	in.notify = make(chan struct{})
	return true
}

// pending returns how many undelivered entries match, and a channel closed
// by the next add.
func (in *inbox) pending(match func(*Message) bool) (int, <-chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, e := range in.entries {
		if !e.delivered && match(&e.msg) {
			n++
		}
	}
	return n, in.notify
}

// take returns the oldest undelivered matching entries, at most maxMsgs of
// them and at most maxChars characters in all, marks them delivered, and
// reports how many matching entries are left for the next call. The first
// entry is always taken, cut to fit when it alone exceeds maxChars, so a
// call always makes progress.
func (in *inbox) take(match func(*Message) bool, maxMsgs, maxChars int) (msgs []Message, remaining int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	used := 0
	full := false
	for _, e := range in.entries {
		if e.delivered || !match(&e.msg) {
			continue
		}
		if !full && len(msgs) == maxMsgs {
			full = true
		}
		var m Message
		n := -1
		if !full {
			m, n = fit(e.msg, maxChars-used, len(msgs) == 0)
		}
		if n < 0 {
			full = true // keep the order: nothing newer may pass this one
			remaining++
			continue
		}
		e.delivered = true
		msgs = append(msgs, m)
		used += n
	}
	return msgs, remaining
}

// tail returns the newest n matching entries (delivered or not), oldest
// first, within maxChars, and marks every matching entry delivered: the
// agent has caught up.
func (in *inbox) tail(match func(*Message) bool, n, maxChars int) []Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Message
	used := 0
	for i := len(in.entries) - 1; i >= 0; i-- {
		e := in.entries[i]
		if !match(&e.msg) {
			continue
		}
		if len(out) < n {
			if m, c := fit(e.msg, maxChars-used, len(out) == 0); c >= 0 {
				out = append(out, m)
				used += c
			} else {
				n = len(out) // no room for older ones either
			}
		}
		e.delivered = true
	}
	slices.Reverse(out)
	return out
}

// droppedCount returns how many undelivered messages were dropped for room.
func (in *inbox) droppedCount() uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.dropped
}

// fit returns m and its size in characters if it fits in budget, else -1;
// with force, a message too large is cut to fit instead (its Frame dropped
// and Content shortened, Truncated set).
func fit(m Message, budget int, force bool) (Message, int) {
	n := m.chars()
	if n <= budget {
		return m, n
	}
	if !force {
		return m, -1
	}
	m.Frame, m.Truncated = nil, true
	content := m.Content
	// The longest prefix whose encoding fits: JSON escapes make the
	// encoded length grow unevenly with the prefix, so search for it.
	lo, hi := 0, utf8.RuneCountInString(content)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		m.Content = truncateRunes(content, mid)
		if m.chars() <= budget {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	m.Content = truncateRunes(content, lo)
	return m, m.chars()
}

// truncateRunes returns the first n runes of s.
func truncateRunes(s string, n int) string {
	i := 0
	for range n {
		if i >= len(s) {
			return s
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// matcher is the listen filter (PROTOCOL.md §22): messages to the listed
// channels and to the agent itself, except the agent's own and the node's
// notices (@server).
func matcher(channels, self []string) func(*Message) bool {
	return func(m *Message) bool {
		if m.From == "@server" || slices.Contains(self, m.From) {
			return false
		}
		return slices.Contains(channels, m.To) || slices.Contains(self, m.To)
	}
}
