package ledger

import (
	"strconv"

	"github.com/agentchat/mesh/protocol"
)

// receiptSigningPrefix starts the bytes a node countersigns. The version in
// it changes whenever the encoding below changes.
const receiptSigningPrefix = "AGENTCHAT_RECEIPT_V1\n"

// SigningBytes returns the bytes the node countersigns:
// "AGENTCHAT_RECEIPT_V1\n" followed by the canonical JSON of the receipt
// without its node_sig member.
//
// The canonical JSON is compact (no whitespace) with every member present in
// this fixed order:
//
//	{"version":1,
//	 "proposal":{"proposal_id","from","to","task","amount","currency",
//	             "payment_code","terms","expires","elo_stake","created_at","sig"},
//	 "accept":{"payment_code","elo_stake","sig","accepted_at"},
//	 "outcome":{"kind","by","proof","reason","sig","settled_at"[,"court"]},
//	 "from_pubkey","to_pubkey","node_pubkey","node_sig"}
//
// Strings are quoted as JSON.stringify does (protocol.AppendJSString: only
// '"', '\\' and control characters escaped); absent numbers are null;
// integers print as decimal digits and amount/expires as JS-strings
// (protocol.FormatJSNumber). Only a verdict has "court" (appendCourtJSON),
// so the other receipts encode as before it existed. Receipts hold only valid UTF-8 (validate), so
// the encoding is injective: two receipts that differ in any field other
// than node_sig have different signing bytes.
func (r *Receipt) SigningBytes() []byte {
	b := make([]byte, 0, len(receiptSigningPrefix)+r.sizeHint())
	b = append(b, receiptSigningPrefix...)
	return r.appendJSON(b, false)
}

// CanonicalJSON returns the receipt's canonical JSON (see SigningBytes),
// node_sig included. It is what MarshalJSON returns, what the store keeps
// and what the log hashes.
func (r *Receipt) CanonicalJSON() []byte {
	return r.appendJSON(make([]byte, 0, r.sizeHint()), true)
}

// MarshalJSON returns CanonicalJSON.
func (r Receipt) MarshalJSON() ([]byte, error) {
	return r.CanonicalJSON(), nil
}

func (r *Receipt) sizeHint() int {
	p, a, o := &r.Proposal, &r.Accept, &r.Outcome
	return 512 + len(p.ProposalID) + len(p.Task) + len(p.Currency) + len(p.PaymentCode) +
		len(p.Terms) + len(p.Sig) + len(a.PaymentCode) + len(a.Sig) + len(o.Proof) +
		len(o.Reason) + len(o.Sig) + len(r.FromPubkey) + len(r.ToPubkey) + len(r.NodeSig)
}

func (r *Receipt) appendJSON(b []byte, withSig bool) []byte {
	p, a, o := &r.Proposal, &r.Accept, &r.Outcome
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(r.Version), 10)

	b = append(b, `,"proposal":{"proposal_id":`...)
	b = protocol.AppendJSString(b, p.ProposalID)
	b = append(b, `,"from":`...)
	b = protocol.AppendJSString(b, p.From)
	b = append(b, `,"to":`...)
	b = protocol.AppendJSString(b, p.To)
	b = append(b, `,"task":`...)
	b = protocol.AppendJSString(b, p.Task)
	b = append(b, `,"amount":`...)
	b = appendOptFloat(b, p.Amount)
	b = append(b, `,"currency":`...)
	b = protocol.AppendJSString(b, p.Currency)
	b = append(b, `,"payment_code":`...)
	b = protocol.AppendJSString(b, p.PaymentCode)
	b = append(b, `,"terms":`...)
	b = protocol.AppendJSString(b, p.Terms)
	b = append(b, `,"expires":`...)
	b = appendOptFloat(b, p.Expires)
	b = append(b, `,"elo_stake":`...)
	b = appendOptInt(b, p.EloStake)
	b = append(b, `,"created_at":`...)
	b = strconv.AppendInt(b, p.CreatedAt, 10)
	b = append(b, `,"sig":`...)
	b = protocol.AppendJSString(b, p.Sig)

	b = append(b, `},"accept":{"payment_code":`...)
	b = protocol.AppendJSString(b, a.PaymentCode)
	b = append(b, `,"elo_stake":`...)
	b = appendOptInt(b, a.EloStake)
	b = append(b, `,"sig":`...)
	b = protocol.AppendJSString(b, a.Sig)
	b = append(b, `,"accepted_at":`...)
	b = strconv.AppendInt(b, a.AcceptedAt, 10)

	b = append(b, `},"outcome":{"kind":`...)
	b = protocol.AppendJSString(b, o.Kind)
	b = append(b, `,"by":`...)
	b = protocol.AppendJSString(b, o.By)
	b = append(b, `,"proof":`...)
	b = protocol.AppendJSString(b, o.Proof)
	b = append(b, `,"reason":`...)
	b = protocol.AppendJSString(b, o.Reason)
	b = append(b, `,"sig":`...)
	b = protocol.AppendJSString(b, o.Sig)
	b = append(b, `,"settled_at":`...)
	b = strconv.AppendInt(b, o.SettledAt, 10)
	if o.Court != nil {
		b = appendCourtJSON(b, o.Court)
	}

	b = append(b, `},"from_pubkey":`...)
	b = protocol.AppendJSString(b, r.FromPubkey)
	b = append(b, `,"to_pubkey":`...)
	b = protocol.AppendJSString(b, r.ToPubkey)
	b = append(b, `,"node_pubkey":`...)
	b = protocol.AppendJSString(b, r.NodePubkey)
	if withSig {
		b = append(b, `,"node_sig":`...)
		b = protocol.AppendJSString(b, r.NodeSig)
	}
	return append(b, '}')
}

func appendOptFloat(b []byte, v *float64) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return append(b, protocol.FormatJSNumber(*v)...)
}

func appendOptInt(b []byte, v *int64) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *v, 10)
}
