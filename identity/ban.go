package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// BanType is the type field of every operator ban record.
const BanType = "BAN"

// Limits of a ban record.
const (
	// MaxBanRecord bounds an encoded record.
	MaxBanRecord = 2048
	// MaxBanReason bounds the reason, in bytes.
	MaxBanReason = 256
)

// Ban is an operator's signed statement that an agent is banned (or, with
// Lift, no longer banned) by that operator. Bans are per node by design;
// a node enforces the bans of an operator only if its own operator chose
// to honour that operator's key. The record travels the mesh as it is, so
// every node checks the signature itself.
type Ban struct {
	Type string `json:"type"` // BanType
	// Operator is the signer's raw Ed25519 public key, 64 lowercase hex
	// (a node key or an operator's identity key).
	Operator string `json:"operator"`
	// AgentID is the banned agent's ID, without the "@".
	AgentID string `json:"agent_id"`
	// Lift true lifts the operator's earlier bans of the agent.
	Lift   bool   `json:"lift"`
	Reason string `json:"reason"`
	// Timestamp (ms) orders an operator's records about one agent: the
	// newest decides.
	Timestamp int64 `json:"timestamp"`
	// Sig is the operator's signature over SigningString, base64.
	Sig string `json:"sig"`
}

// SigningString returns the text the operator signs:
// "AGENTCHAT_BAN_V1|<operator>|<agent_id>|<ban|lift>|<timestamp>|<reason>",
// the free-text reason last so that it may hold any character.
func (b *Ban) SigningString() string {
	action := "ban"
	if b.Lift {
		action = "lift"
	}
	return "AGENTCHAT_BAN_V1|" + b.Operator + "|" + b.AgentID + "|" + action + "|" +
		strconv.FormatInt(b.Timestamp, 10) + "|" + b.Reason
}

// SignBan returns a ban (lift false) or a lift of agentID ("@" optional),
// signed by priv at now.
func SignBan(priv ed25519.PrivateKey, agentID, reason string, lift bool, now time.Time) (*Ban, error) {
	b := &Ban{Type: BanType, Operator: hex.EncodeToString(priv.Public().(ed25519.PublicKey)),
		AgentID: trimAt(agentID), Lift: lift, Reason: reason, Timestamp: now.UnixMilli()}
	if err := b.shape(); err != nil {
		return nil, err
	}
	b.Sig = Sign(priv, b.SigningString())
	return b, nil
}

func trimAt(id string) string {
	if len(id) > 0 && id[0] == '@' {
		return id[1:]
	}
	return id
}

// DecodeBan parses and verifies one encoded ban record strictly: at most
// MaxBanRecord bytes, no unknown members or trailing data, every field in
// shape (ErrBadBan), and the operator's signature (ErrBadSignature).
func DecodeBan(data []byte) (*Ban, error) {
	if len(data) > MaxBanRecord {
		return nil, fmt.Errorf("%w: record of %d bytes (limit %d)", ErrBadBan, len(data), MaxBanRecord)
	}
	var b Ban
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBan, err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data", ErrBadBan)
	}
	if err := b.Verify(); err != nil {
		return nil, err
	}
	return &b, nil
}

// Verify checks the record's shape and the operator's signature, which
// must be in the canonical form (CanonicalSignature): ID covers it.
func (b *Ban) Verify() error {
	if err := b.shape(); err != nil {
		return err
	}
	if !CanonicalSignature(b.Sig) {
		return fmt.Errorf("%w: sig must be 88 characters of padded standard base64", ErrBadBan)
	}
	key, _ := hex.DecodeString(b.Operator)
	if !Verify(ed25519.PublicKey(key), b.SigningString(), b.Sig) {
		return fmt.Errorf("ban of @%s: %w", b.AgentID, ErrBadSignature)
	}
	return nil
}

func (b *Ban) shape() error {
	switch key, err := hex.DecodeString(b.Operator); {
	case b.Type != BanType:
		return fmt.Errorf("%w: type %q is not %q", ErrBadBan, b.Type, BanType)
	case err != nil || len(key) != ed25519.PublicKeySize || hex.EncodeToString(key) != b.Operator:
		return fmt.Errorf("%w: operator must be an Ed25519 key in 64 lowercase hex", ErrBadBan)
	case !ValidAgentID(b.AgentID):
		return fmt.Errorf("%w: agent_id %q is not an agent ID", ErrBadBan, b.AgentID)
	case len(b.Reason) > MaxBanReason || !utf8.ValidString(b.Reason):
		return fmt.Errorf("%w: reason must be UTF-8 of at most %d bytes", ErrBadBan, MaxBanReason)
	case b.Timestamp <= 0:
		return fmt.Errorf("%w: timestamp must be positive milliseconds", ErrBadBan)
	}
	return nil
}

// Encode returns the record as compact JSON.
func (b *Ban) Encode() []byte {
	data, _ := json.Marshal(b) // strings, a bool and an int64: cannot fail
	return data
}

// ID names the record: hex SHA-256 of its signed string and signature, so
// the same record has the same ID on every node.
func (b *Ban) ID() string {
	h := sha256.Sum256([]byte(b.SigningString() + "\n" + b.Sig))
	return hex.EncodeToString(h[:16])
}

// ParseOperatorKey reads an operator key as a node takes it: 64 hex
// characters of a raw Ed25519 key, or a PEM public key.
func ParseOperatorKey(s string) (ed25519.PublicKey, error) {
	if key, err := hex.DecodeString(strings.TrimSpace(s)); err == nil && len(key) == ed25519.PublicKeySize {
		return ed25519.PublicKey(key), nil
	}
	key, err := ParsePublicPEM(s)
	if err != nil {
		return nil, fmt.Errorf("operator key: not 64 hex characters nor a PEM public key: %w", err)
	}
	return key, nil
}
