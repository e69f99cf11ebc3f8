// Package daemon is the agentchat agent daemon (PROTOCOL.md §20): a
// long-running agent that keeps one connection to a node and exchanges
// messages with other programs through files, so that a tool which cannot
// hold a websocket (a shell script, an LLM with file access) can still
// chat.
//
// It sits at the agent end of the data path: files <-> daemon ->
// agent/client -> websocket -> node. It imports protocol, identity and
// agent/client only (deps_test.go at the repository root enforces it), never
// anything on the node side.
//
// # Instance directory
//
// Each daemon owns one instance directory, ~/.agentchat/daemons/<instance>/
// (Config.BaseDir replaces ~/.agentchat/daemons), holding:
//
//   - inbox.jsonl: every MSG, AGENT_JOINED, AGENT_LEFT, PROPOSAL, ACCEPT,
//     REJECT, COMPLETE, DISPUTE, SKILLS_REGISTERED and SEARCH_RESULTS frame
//     received, as the node's exact bytes, one per line. After every append
//     the file is cut to its last 1,000 lines (temp file + rename).
//     Replayed messages of a JOIN that the inbox already holds (same msg_id)
//     are not written again, so a reconnect or a restart does not repeat the
//     channel history.
//   - newdata: the time of the last inbox append, ms since the epoch as
//     decimal text; readers poll it instead of the inbox.
//   - receipts.jsonl: COMPLETE frames that involve this agent, each with
//     stored_at added (§12.5).
//   - outbox.jsonl: lines {"to":"#chan"|"@id","content":"…"} to send; see
//     below.
//   - outbox.rejected.jsonl: outbox lines that can never be sent, each
//     wrapped as {"rejected_at":ms,"reason":"…","line":"<the line>"}.
//   - daemon.log: "[<ISO time>] [<LEVEL>] <text>" lines.
//   - daemon.pid: the daemon's pid in decimal, no newline, while it runs,
//     locked with flock where the system has it (LockPidFile, which the
//     supervisor and the runner use for their pid files too).
//   - status.json: pid, URL, agent ID, connected, channels; rewritten when
//     the connection comes or goes, read by Status.
//
// # Outbox delivery
//
// The original daemon truncated outbox.jsonl after each pass, losing lines
// appended during the pass and lines that failed. This one never rewrites
// outbox.jsonl, which writers append to without any lock:
//
//  1. When no batch is pending, it renames outbox.jsonl to
//     outbox.jsonl.sending. The rename is atomic, so a writer appends either
//     to the batch or to a fresh outbox.jsonl, never to nothing.
//  2. It sends the batch's lines in order, one at a time. After each line
//     is sent (or rejected as permanently invalid) it records the byte
//     offset of the next line in outbox.jsonl.sending.pos (temp file +
//     rename).
//  3. A line that cannot be sent now (disconnected, RATE_LIMITED, a
//     timeout, another node error) stops the pass; the batch stays, with its
//     offset, and the next pass resumes at that line. Lines appended to
//     outbox.jsonl meanwhile wait behind it, so order is kept.
//  4. When the whole batch is done, outbox.jsonl.sending and its offset file
//     are removed and the next pass takes outbox.jsonl again.
//
// Lines that can never be sent (not JSON, no "to" or "content", a target
// that is neither #channel nor @agent, CHANNEL_NOT_FOUND, AGENT_NOT_FOUND,
// INVALID_MSG, a JOIN refused with NOT_INVITED, or MaxAttempts refusals of
// another kind in a row) go to
// outbox.rejected.jsonl and daemon.log; none is dropped silently.
//
// Each line is sent exactly once unless the daemon dies (or the connection
// drops, or the node does not answer within the call timeout) between the
// node accepting the MSG and the offset being recorded: then that one line
// is sent again when the daemon resumes. The window is a few milliseconds
// per line. A writer that keeps outbox.jsonl open across the rename keeps
// appending to the batch; the daemon re-reads the batch before removing it,
// and an unterminated last line is only sent once the batch has been quiet
// for a second, so such a writer loses nothing in practice.
//
// MSGs are spaced at least Config.MsgSpacing apart (1.05 s: the node allows
// one per second per connection), and a RATE_LIMITED line is retried no
// sooner than 1.05 s later. An in-flight send is allowed to finish (up to
// Config.CallTimeout) when Run's context ends, so that a stop does not leave
// its fate unknown. There is no file-system watch: polling every 500 ms is
// the only trigger. A #channel target the daemon has not joined is joined first.
//
// # Goroutines
//
// Run's goroutine reads the client's events and writes the inbox; one
// outbox goroutine, started and waited for by Run, joins the configured
// channels (retrying joins that failed for want of a connection) and
// delivers the outbox. Both write the inbox (a JOIN's replay comes back to
// the outbox goroutine), which a mutex serialises. The
// client owns its own goroutines and Run closes it before returning.
package daemon
