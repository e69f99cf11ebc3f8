// Package protocol is the agentchat wire protocol: the JSON frames that
// agents and nodes exchange over a websocket (spec/PROTOCOL.md §5–§7), their
// decoding and validation, the error codes agents match (§17), the close codes
// (§18) and the canonical signing strings (§7) with JavaScript-compatible
// number and string formatting (§7.4).
//
// It sits at both ends of the data path: the node decodes every inbound frame
// here before anything else looks at it, and encodes every outbound frame with
// the types declared here; the agent client does the reverse. The package
// imports nothing of ours and does no I/O, so a client build stays small and
// the rules live in exactly one place.
package protocol
