package mcp

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func chatMsg(i int, from, to string) Message {
	return Message{From: from, FromName: strings.TrimPrefix(from, "@"), To: to, Content: fmt.Sprintf("message %d", i),
		TS: int64(1000 + i), MsgID: fmt.Sprintf("%d-abcdef", i)}
}

func contents(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Content)
	}
	return out
}

func TestMatcher(t *testing.T) {
	self := []string{"@me00000000000000", "@me"}
	match := matcher([]string{"#general", "#work"}, self)
	for _, tc := range []struct {
		name     string
		from, to string
		want     bool
	}{
		{"listed channel", "@other", "#general", true},
		{"second listed channel", "@other", "#work", true},
		{"unlisted channel", "@other", "#random", false},
		{"direct message by id", "@other", "@me00000000000000", true},
		{"direct message by name", "@other", "@me", true},
		{"direct message to another agent", "@other", "@third", false},
		{"own channel message", "@me00000000000000", "#general", false},
		{"own direct message to self", "@me00000000000000", "@me00000000000000", false},
		{"server notice", "@server", "#general", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Message{From: tc.from, To: tc.to, Content: "x"}
			require.Equal(t, tc.want, match(&m))
		})
	}
}

func TestInboxTakeFiltersAndConsumes(t *testing.T) {
	in := newInbox(100, 1<<20)
	in.add(chatMsg(1, "@a", "#general"))
	in.add(chatMsg(2, "@a", "#random"))
	in.add(chatMsg(3, "@server", "#general"))
	in.add(chatMsg(4, "@me", "#general"))
	in.add(chatMsg(5, "@b", "@me"))
	general := matcher([]string{"#general"}, []string{"@me"})

	n, _ := in.pending(general)
	require.Equal(t, 2, n)
	msgs, rest := in.take(general, MaxListenMessages, MaxListenChars)
	require.Equal(t, []string{"message 1", "message 5"}, contents(msgs))
	require.Zero(t, rest)
	msgs, _ = in.take(general, MaxListenMessages, MaxListenChars)
	require.Empty(t, msgs, "delivered messages are not delivered again")

	// The #random message waited for a listen that names #random.
	msgs, _ = in.take(matcher([]string{"#random"}, []string{"@me"}), MaxListenMessages, MaxListenChars)
	require.Equal(t, []string{"message 2"}, contents(msgs))
}

func TestInboxDeduplicates(t *testing.T) {
	in := newInbox(100, 1<<20)
	m := chatMsg(1, "@a", "#general")
	require.True(t, in.add(m))
	replayed := m
	replayed.Replay = true
	require.False(t, in.add(replayed), "a replay of a buffered message is a duplicate")
	noID := Message{From: "@a", To: "#general", Content: "same", TS: 5}
	require.True(t, in.add(noID))
	require.False(t, in.add(noID), "without msg_id, ts+from+to+content identify a message")
	msgs, _ := in.take(matcher([]string{"#general"}, nil), MaxListenMessages, MaxListenChars)
	require.Len(t, msgs, 2)
}

func TestInboxMessageLimit(t *testing.T) {
	in := newInbox(1000, 1<<20)
	for i := range 120 {
		in.add(chatMsg(i, "@a", "#general"))
	}
	match := matcher([]string{"#general"}, nil)
	msgs, rest := in.take(match, MaxListenMessages, MaxListenChars)
	require.Len(t, msgs, MaxListenMessages)
	require.Equal(t, "message 0", msgs[0].Content, "oldest first")
	require.Equal(t, 70, rest)
	msgs, rest = in.take(match, MaxListenMessages, MaxListenChars)
	require.Equal(t, "message 50", msgs[0].Content, "the next call continues where the last stopped")
	require.Equal(t, 20, rest)
}

func TestInboxCharLimit(t *testing.T) {
	in := newInbox(1000, 1<<20)
	big := strings.Repeat("é", 9000) // 9000 characters, 18000 bytes
	for i := range 5 {
		m := chatMsg(i, "@a", "#general")
		m.Content = big
		in.add(m)
	}
	match := matcher([]string{"#general"}, nil)
	msgs, rest := in.take(match, MaxListenMessages, MaxListenChars)
	require.Equal(t, 3, len(msgs), "3 × ~9100 characters fit in 32000, 4 do not")
	require.Equal(t, 2, rest)
	total := 0
	for _, m := range msgs {
		total += m.chars()
		require.False(t, m.Truncated)
	}
	require.LessOrEqual(t, total, MaxListenChars)
}

func TestInboxHugeMessageIsCut(t *testing.T) {
	in := newInbox(1000, 1<<22)
	m := chatMsg(1, "@a", "#general")
	m.Content = strings.Repeat(`"quoted"`, 10000) // 80000 characters, longer still as JSON
	in.add(m)
	in.add(chatMsg(2, "@a", "#general"))
	match := matcher([]string{"#general"}, nil)
	msgs, rest := in.take(match, MaxListenMessages, MaxListenChars)
	require.Equal(t, 1, len(msgs), "a message too large alone is cut, and nothing follows it in the same result")
	require.True(t, msgs[0].Truncated)
	require.LessOrEqual(t, msgs[0].chars(), MaxListenChars)
	require.Greater(t, msgs[0].chars(), MaxListenChars-100, "cut close to the bound")
	require.True(t, utf8.ValidString(msgs[0].Content))
	require.Equal(t, 1, rest)
}

func TestInboxDropsOldest(t *testing.T) {
	in := newInbox(10, 1<<20)
	match := matcher([]string{"#general"}, nil)
	for i := range 5 {
		in.add(chatMsg(i, "@a", "#general"))
	}
	msgs, _ := in.take(match, 3, MaxListenChars) // 0..2 delivered
	require.Len(t, msgs, 3)
	for i := 5; i < 15; i++ {
		in.add(chatMsg(i, "@a", "#general"))
	}
	// 15 added, 10 kept: 0..4 dropped, of which 3 and 4 were never delivered.
	require.Equal(t, uint64(2), in.droppedCount())
	msgs, rest := in.take(match, MaxListenMessages, MaxListenChars)
	require.Equal(t, "message 5", msgs[0].Content)
	require.Len(t, msgs, 10)
	require.Zero(t, rest)

	// The character bound drops too.
	small := newInbox(1000, 3*(len("message 0")+64))
	for i := range 5 {
		small.add(chatMsg(i, "@a", "#general"))
	}
	require.Equal(t, uint64(2), small.droppedCount())
}

func TestInboxTail(t *testing.T) {
	in := newInbox(100, 1<<20)
	for i := range 10 {
		in.add(chatMsg(i, "@a", "#general"))
	}
	in.add(chatMsg(10, "@a", "#random"))
	match := matcher([]string{"#general"}, nil)
	first, _ := in.take(match, 2, MaxListenChars)
	require.Len(t, first, 2)
	msgs := in.tail(match, 3, MaxListenChars)
	require.Equal(t, []string{"message 7", "message 8", "message 9"}, contents(msgs), "newest, oldest first")
	n, _ := in.pending(match)
	require.Zero(t, n, "tail catches up: nothing older is pending")
	n, _ = in.pending(matcher([]string{"#random"}, nil))
	require.Equal(t, 1, n, "other channels are untouched")
}

func TestInboxNotifies(t *testing.T) {
	in := newInbox(100, 1<<20)
	_, ch := in.pending(func(*Message) bool { return true })
	select {
	case <-ch:
		t.Fatal("notified before any add")
	default:
	}
	in.add(chatMsg(1, "@a", "#general"))
	select {
	case <-ch:
	default:
		t.Fatal("add did not notify")
	}
}

func TestTruncateRunes(t *testing.T) {
	require.Equal(t, "hé", truncateRunes("héllo", 2))
	require.Equal(t, "héllo", truncateRunes("héllo", 10))
	require.Equal(t, "", truncateRunes("héllo", 0))
}
