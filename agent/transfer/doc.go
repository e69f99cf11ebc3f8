// Package transfer sends and receives files between agents with the `_ft`
// convention of PROTOCOL.md §21: the files are packed into one SLURP v4
// archive (Pack, Unpack), offered to the receiver in a direct message,
// and on acceptance carried in FILE_CHUNK frames, then confirmed with a
// SHA-256 of the whole archive and acknowledged by the receiver.
//
// It sits at the agent end of the data path, on top of the client:
// agent code (the CLI's `file` commands, the daemon, the MCP bridge) ->
// transfer -> agent/client -> websocket -> node, which relays the direct
// messages and chunks to the receiver locally or across the mesh. It
// imports only protocol, identity and agent/client of this module; never the
// node side (deps_test.go enforces it).
//
// # Roles
//
// A Sender and a Receiver each consume a client's events (Run), because the
// replies of a transfer arrive as events: *protocol.MsgFrame for the
// control messages (offer, accept, reject, complete, ack) and
// *protocol.FileChunkFrame for the chunks. Send is the one-shot form for a
// client that does nothing else. An agent that both sends and receives
// feeds each of them its own copy of the events (SenderConfig.Events,
// ReceiverConfig.Events).
//
// # What a receiver writes
//
// Nothing is written before the whole archive has arrived, its SHA-256
// matches, it unpacks cleanly and every entry name passes SafeJoin under
// the target directory. A transfer that fails any of these is acknowledged
// with ok:false and leaves the file system untouched; only an I/O error
// while writing (disk full, a file in the way of a directory) can leave the
// files written before it.
//
// # Choices beyond PROTOCOL.md §21
//
//   - Pack stores a file as text only when a §21.3 parser gives back its
//     exact bytes (valid UTF-8, ending in exactly one "\n", no line equal to
//     its own END marker), and as binary otherwise, so every transfer is
//     byte-identical; other parsers decode those blocks the same way.
//   - Chunks hold at most 1,048,576 UTF-16 units, as in §21.2, but are cut
//     shorter when the doubly JSON-escaped chunk would not fit the node's
//     frame limit (chunk.go); they never split a rune. The offer's chunks
//     count is the real one. A receiver still joins chunks from JavaScript
//     senders that split a surrogate pair (decodeChunkData).
//   - The receiver refuses instead of repairing: an archive entry that
//     SafeJoin refuses fails the whole transfer (ack ok:false, "unsafe path:
//     …"), where the reference unpacker strips ".." and skips the entry.
//     The sender refuses such names before offering.
//   - An offer over the size limit is answered with reject (the reference
//     receiver ignores it), with a "reason" field other clients ignore. Ack
//     errors other than "hash mismatch" are "timeout", "too large",
//     "malformed archive", "unsafe path: …" and "write failed".
//   - Control messages that the node refuses for MSG spacing (RATE_LIMITED)
//     are sent again after a second, chunks after the chunk interval.
//
// # Goroutines
//
// Run is the owner of everything a Sender or Receiver starts: it waits for
// the transfers it started (auto-accept, automatic rejects) before it
// returns. Send and Accept run on the caller's goroutine.
package transfer
