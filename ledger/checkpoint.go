package ledger

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"
)

// checkpointSigningPrefix starts the bytes a node signs for a checkpoint.
const checkpointSigningPrefix = "AGENTCHAT_CHECKPOINT_V1\n"

// Checkpoint is a node's signed statement that its receipt log had Size
// records with Merkle root Root at Timestamp (ms). The log is a tlog tree
// (RFC 6962 hashing) whose record i is the canonical JSON of the i-th
// receipt the node countersigned.
type Checkpoint struct {
	// NodePubkey is the node's raw Ed25519 key in lowercase hex, the same
	// form as Receipt.NodePubkey.
	NodePubkey string    `json:"node_pubkey"`
	Size       int64     `json:"size"`
	Root       tlog.Hash `json:"root"` // base64, as tlog writes it
	Timestamp  int64     `json:"timestamp"`
	// Sig is the node's signature over SigningBytes, padded base64.
	Sig string `json:"sig"`
}

// SigningBytes returns the bytes the node signs, newline-terminated lines:
//
//	AGENTCHAT_CHECKPOINT_V1
//	<node_pubkey hex>
//	<size>
//	<root base64>
//	<timestamp ms>
func (c *Checkpoint) SigningBytes() []byte {
	b := make([]byte, 0, 160)
	b = append(b, checkpointSigningPrefix...)
	b = append(b, c.NodePubkey...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.Size, 10)
	b = append(b, '\n')
	b = append(b, c.Root.String()...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.Timestamp, 10)
	return append(b, '\n')
}

// SignCheckpoint returns a checkpoint of a log of size records with root
// hash root, signed with key at timestamp ms.
func SignCheckpoint(key ed25519.PrivateKey, size int64, root tlog.Hash, timestamp int64) Checkpoint {
	c := Checkpoint{
		NodePubkey: hex.EncodeToString(key.Public().(ed25519.PublicKey)),
		Size:       size,
		Root:       root,
		Timestamp:  timestamp,
	}
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.SigningBytes()))
	return c
}

// VerifyCheckpoint checks a checkpoint's fields and its signature by the
// node it names. Errors wrap ErrBadCheckpoint.
func VerifyCheckpoint(c *Checkpoint) error {
	if !validNodeKey(c.NodePubkey) {
		return fmt.Errorf("%w: node_pubkey must be 64 lowercase hex characters", ErrBadCheckpoint)
	}
	if c.Size < 0 || c.Timestamp < 0 {
		return fmt.Errorf("%w: negative size or timestamp", ErrBadCheckpoint)
	}
	if c.Size > MaxLogSize {
		return fmt.Errorf("%w: a log of %d records is over the limit of %d", ErrBadCheckpoint, c.Size, int64(MaxLogSize))
	}
	key, _ := hex.DecodeString(c.NodePubkey)
	sig, ok := decodeNodeSig(c.Sig)
	if !ok || !ed25519.Verify(key, c.SigningBytes(), sig) {
		return fmt.Errorf("%w: signature does not verify", ErrBadCheckpoint)
	}
	return nil
}

// CheckInclusion checks that proof shows r as record index of the log c
// commits to, and that c is by the node that countersigned r. It does not
// verify c's signature (VerifyCheckpoint) or r (Verify). Errors wrap
// ErrBadProof.
func (c *Checkpoint) CheckInclusion(r *Receipt, index int64, proof tlog.RecordProof) error {
	return c.checkLeaf(r.NodePubkey, index, proof, tlog.RecordHash(r.CanonicalJSON()))
}

// checkLeaf is CheckInclusion for a receipt by node whose record hash is
// leaf. A size over MaxLogSize is refused before tlog sees it: its proof
// walk never ends for a tree of more than 2^62 records.
func (c *Checkpoint) checkLeaf(node string, index int64, proof tlog.RecordProof, leaf tlog.Hash) error {
	if node != c.NodePubkey {
		return fmt.Errorf("%w: checkpoint is by node %.16s…, receipt by %.16s…", ErrBadProof, c.NodePubkey, node)
	}
	if c.Size > MaxLogSize || len(proof) > maxProofLen {
		return fmt.Errorf("%w: log of %d records or proof of %d hashes over the limits", ErrBadProof, c.Size, len(proof))
	}
	if index < 0 || index >= c.Size {
		return fmt.Errorf("%w: index %d outside a log of %d records", ErrBadProof, index, c.Size)
	}
	if err := tlog.CheckRecord(proof, c.Size, c.Root, index, leaf); err != nil {
		return fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	return nil
}
