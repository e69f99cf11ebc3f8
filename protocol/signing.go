package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The canonical signing strings of PROTOCOL.md §7.1. Each is signed with
// Ed25519 over its UTF-8 bytes. Fields are joined unescaped, exactly as the
// original server's template strings do, so a '|' inside a field makes the
// string ambiguous; that is the protocol's, and is kept for compatibility.

// AuthSigningString returns the handshake string
// "AGENTCHAT_AUTH|nonce|challenge_id|timestamp" of §7.1 and §4.3, with the
// timestamp in JS-string form (§7.4).
func AuthSigningString(nonce, challengeID string, timestamp float64) string {
	return "AGENTCHAT_AUTH|" + nonce + "|" + challengeID + "|" + FormatJSNumber(timestamp)
}

// ProposalSigningString returns the PROPOSAL string of §7.1:
// "to|task|amount|currency|payment_code|expires|elo_stake". Optional fields
// that are nil or JS-falsy (0, NaN, "") are empty; numbers are JS-strings.
// expires is the relative seconds value as sent.
func ProposalSigningString(to, task string, amount *float64, currency, paymentCode string, expires *float64, eloStake *int64) string {
	return strings.Join([]string{
		to,
		task,
		jsOptFloat(amount),
		currency,
		paymentCode,
		jsOptFloat(expires),
		jsOptInt(eloStake),
	}, "|")
}

// AcceptSigningString returns the ACCEPT string of §7.1:
// "ACCEPT|proposal_id|payment_code|elo_stake", with a nil or zero stake
// empty. It always has three pipes.
func AcceptSigningString(proposalID, paymentCode string, eloStake *int64) string {
	return "ACCEPT|" + proposalID + "|" + paymentCode + "|" + jsOptInt(eloStake)
}

// RejectSigningString returns the REJECT string of §7.1:
// "REJECT|proposal_id|reason".
func RejectSigningString(proposalID, reason string) string {
	return "REJECT|" + proposalID + "|" + reason
}

// CompleteSigningString returns the COMPLETE string of §7.1:
// "COMPLETE|proposal_id|proof".
func CompleteSigningString(proposalID, proof string) string {
	return "COMPLETE|" + proposalID + "|" + proof
}

// DisputeSigningString returns the legacy DISPUTE string of §7.1:
// "DISPUTE|proposal_id|reason".
func DisputeSigningString(proposalID, reason string) string {
	return "DISPUTE|" + proposalID + "|" + reason
}

// RegisterSkillsSigningString returns the REGISTER_SKILLS string of §7.1
// and §14: "REGISTER_SKILLS|" and the lowercase hex SHA-256 of skillsJSR,
// which must be JSR of the skills array as received.
func RegisterSkillsSigningString(skillsJSR []byte) string {
	return "REGISTER_SKILLS|" + sha256Hex(skillsJSR)
}

// DisputeIntentSigningString returns the DISPUTE_INTENT string of §7.1 and
// §13.2: "DISPUTE_INTENT|proposal_id|reason|commitment", with the reason as
// sent (un-redacted).
func DisputeIntentSigningString(proposalID, reason, commitment string) string {
	return "DISPUTE_INTENT|" + proposalID + "|" + reason + "|" + commitment
}

// DisputeRevealSigningString returns the DISPUTE_REVEAL string of §7.1 and
// §13.3: "DISPUTE_REVEAL|proposal_id|nonce".
func DisputeRevealSigningString(proposalID, nonce string) string {
	return "DISPUTE_REVEAL|" + proposalID + "|" + nonce
}

// EvidenceSigningString returns the EVIDENCE string of §7.1 and §13.7:
// "EVIDENCE|dispute_id|" and the hex SHA-256 of itemsJSR, which must be JSR
// of the items array as received. The statement is not covered.
func EvidenceSigningString(disputeID string, itemsJSR []byte) string {
	return "EVIDENCE|" + disputeID + "|" + sha256Hex(itemsJSR)
}

// ArbiterAcceptSigningString returns the ARBITER_ACCEPT string of §7.1 and
// §13.6: "ARBITER_ACCEPT|dispute_id".
func ArbiterAcceptSigningString(disputeID string) string {
	return "ARBITER_ACCEPT|" + disputeID
}

// ArbiterDeclineSigningString returns the ARBITER_DECLINE string of §7.1 and
// §13.6: "ARBITER_DECLINE|dispute_id|reason".
func ArbiterDeclineSigningString(disputeID, reason string) string {
	return "ARBITER_DECLINE|" + disputeID + "|" + reason
}

// ArbiterVoteSigningString returns the ARBITER_VOTE string of §7.1 and
// §13.6: "VOTE|dispute_id|verdict" (the prefix is VOTE, not ARBITER_VOTE;
// the reasoning is not covered).
func ArbiterVoteSigningString(disputeID, verdict string) string {
	return "VOTE|" + disputeID + "|" + verdict
}

// MsgSigningString returns the client-side MSG string of §7.1,
// JSON.stringify({to, content, ts}): compact JSON with those keys in that
// order. The server never verifies it.
func MsgSigningString(to, content string, ts float64) string {
	b := make([]byte, 0, 32+len(to)+len(content))
	b = append(b, `{"to":`...)
	b = AppendJSString(b, to)
	b = append(b, `,"content":`...)
	b = AppendJSString(b, content)
	b = append(b, `,"ts":`...)
	b = appendJSONNumber(b, ts)
	return string(append(b, '}'))
}

// RotationSigningString returns the key-rotation string of §3.4,
// JSON.stringify({old_pubkey, new_pubkey, timestamp}), which the old key
// signs; timestamp is the ISO-8601 text of the record.
func RotationSigningString(oldPubkey, newPubkey, timestamp string) string {
	b := make([]byte, 0, 64+len(oldPubkey)+len(newPubkey)+len(timestamp))
	b = append(b, `{"old_pubkey":`...)
	b = AppendJSString(b, oldPubkey)
	b = append(b, `,"new_pubkey":`...)
	b = AppendJSString(b, newPubkey)
	b = append(b, `,"timestamp":`...)
	b = AppendJSString(b, timestamp)
	return string(append(b, '}'))
}

// RevocationSigningString returns the revocation string of §3.5,
// JSON.stringify({type:"REVOCATION", pubkey, agent_id, reason, timestamp}),
// which the revoked key signs.
func RevocationSigningString(pubkey, agentID, reason, timestamp string) string {
	b := make([]byte, 0, 96+len(pubkey)+len(agentID)+len(reason)+len(timestamp))
	b = append(b, `{"type":"REVOCATION","pubkey":`...)
	b = AppendJSString(b, pubkey)
	b = append(b, `,"agent_id":`...)
	b = AppendJSString(b, agentID)
	b = append(b, `,"reason":`...)
	b = AppendJSString(b, reason)
	b = append(b, `,"timestamp":`...)
	b = AppendJSString(b, timestamp)
	return string(append(b, '}'))
}

// Commitment returns the dispute commitment of a nonce (§13.2): the
// lowercase hex SHA-256 of the nonce text itself (not of the bytes it
// encodes in hex).
func Commitment(nonce string) string {
	return sha256Hex([]byte(nonce))
}

// DisputeSeed returns the panel seed of §13.3: the hex SHA-256 of
// proposalID, nonce and serverNonce concatenated without separators.
func DisputeSeed(proposalID, nonce, serverNonce string) string {
	return sha256Hex([]byte(proposalID + nonce + serverNonce))
}

// SeededShuffle returns a copy of pool shuffled as in §13.5: a Fisher–Yates
// shuffle from the end, where step i hashes the previous hex text (starting
// from seed) and takes the first 32 bits of the digest modulo i+1. The
// panel is the first three entries. pool is not modified.
func SeededShuffle(pool []string, seed string) []string {
	r := slices.Clone(pool)
	cur := seed
	for i := len(r) - 1; i > 0; i-- {
		sum := sha256.Sum256([]byte(cur))
		cur = hex.EncodeToString(sum[:])
		// parseInt(cur.slice(0, 8), 16) is the digest's first four bytes.
		j := binary.BigEndian.Uint32(sum[:4]) % uint32(i+1)
		r[i], r[j] = r[j], r[i]
	}
	return r
}

// EvidenceItemHash returns the hash the server stores for one evidence item
// (§7.4, §13.7): the hex SHA-256 of JSON.stringify(item,
// Object.keys(item).sort()). For an object that is its members in ascending
// UTF-16 key order; as with any replacer list, nested objects keep only
// members whose keys are in that list, in list order (and, the list being
// read with [[Get]], one lacking a listed "__proto__" shows the inherited
// {"__proto__":null}). A null item is an error, as Object.keys(null) throws.
func EvidenceItemHash(item []byte) (string, error) {
	v, err := parseJSValue(item)
	if err != nil {
		return "", err
	}
	props := []string{} // non-nil: a replacer list, even when empty
	switch v.kind {
	case '{':
		for _, m := range v.members {
			props = append(props, m.key)
		}
	case '[':
		for i := range v.elems {
			props = append(props, `"`+strconv.Itoa(i)+`"`)
		}
	case 'n':
		return "", errors.New("evidence item is null")
	}
	if err := sortJSKeys(props); err != nil {
		return "", err
	}
	return sha256Hex(v.appendJSON(nil, props)), nil
}

// sortJSKeys sorts quoted keys the way Array.prototype.sort orders strings:
// by UTF-16 code units, which differs from byte order for characters above
// U+FFFF.
func sortJSKeys(keys []string) error {
	units := make(map[string][]uint16, len(keys))
	for _, k := range keys {
		u, err := decodeJSONString(k[1 : len(k)-1])
		if err != nil {
			return err
		}
		units[k] = u
	}
	slices.SortFunc(keys, func(a, b string) int {
		return slices.Compare(units[a], units[b])
	})
	return nil
}

// jsOptFloat renders an optional number as `n || ""` does in JS: empty when
// absent, 0 or NaN, otherwise the JS-string.
func jsOptFloat(v *float64) string {
	if v == nil || *v == 0 || math.IsNaN(*v) {
		return ""
	}
	return FormatJSNumber(*v)
}

// jsOptInt is jsOptFloat for an integer field. It goes through float64
// because JS holds the value as a double: beyond 2^53 JS prints the rounded
// double, not the digits that were sent.
func jsOptInt(v *int64) string {
	if v == nil || *v == 0 {
		return ""
	}
	return FormatJSNumber(float64(*v))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
