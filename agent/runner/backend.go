package runner

import "context"

// Backend is what thinks for the agent: given a turn's prompt it returns
// what to say, and may call tools on the way (API backends do; a command
// cannot, but may use its own MCP connection).
type Backend interface {
	// Turn runs one turn. It must return when ctx ends.
	Turn(ctx context.Context, t Turn, tools Tools) (Reply, error)
}

// Turn is one backend call: the system text (mission and how to answer)
// and the prompt (the recent transcript and what just arrived).
type Turn struct {
	System string
	Prompt string
}

// Reply is a turn's result. Text, unless empty or Pass (in any case,
// with trailing punctuation), is sent to where
// the newest message came from (its channel, or a DM back to its sender).
// Tokens is what the turn cost.
type Reply struct {
	Text   string
	Tokens int64
}

// Pass is the reply that says nothing (the prompt tells the backend so).
const Pass = "PASS"

// estimateTokens is the token count of text for backends that report none:
// about 4 bytes a token.
func estimateTokens(text ...string) int64 {
	var n int
	for _, s := range text {
		n += len(s)
	}
	return int64((n + 3) / 4)
}
