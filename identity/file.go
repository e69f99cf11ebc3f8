package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// isoMillis is JavaScript's Date.prototype.toISOString layout, used for every
// timestamp this package writes so files and signed strings match the
// original client's.
const isoMillis = "2006-01-02T15:04:05.000Z"

// File is an identity file (PROTOCOL.md §3.3). The PEM strings are kept as
// text rather than parsed keys because the agent ID is a hash of the exact
// text, and a client must send the same bytes it hashed.
type File struct {
	// PublicKey is the SPKI PEM the agent sends in IDENTIFY.
	PublicKey string `json:"publicKey"`
	// PrivateKey is the PKCS#8 PEM, or "" for a public-only identity that can
	// be recognised but cannot sign.
	PrivateKey string `json:"privateKey"`
	// AgentID is derived from PublicKey; Save and LoadFile re-derive it.
	AgentID string `json:"agentId"`
	// Name is the display name the agent chose, if any.
	Name string `json:"name,omitempty"`
	// Created is when the first key of this identity was made, ISO-8601.
	Created string `json:"created,omitempty"`
	// Rotations is the chain of earlier keys, oldest first (see VerifyChain).
	Rotations []Rotation `json:"rotations,omitempty"`
}

// fileOnDisk is what LoadFile reads: some clients (and docs/SPEC.md) spell
// the keys pubkey/privkey; the original client reads either spelling.
type fileOnDisk struct {
	PublicKey  string     `json:"publicKey"`
	PrivateKey string     `json:"privateKey"`
	Pubkey     string     `json:"pubkey"`
	Privkey    string     `json:"privkey"`
	Name       string     `json:"name"`
	Created    string     `json:"created"`
	Rotations  []Rotation `json:"rotations"`
}

// New generates a fresh identity named name, created now.
func New(name string) (*File, error) {
	pub, priv, err := GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("new identity: %w", err)
	}
	f := fromKeys(pub, priv)
	f.Name = name
	f.Created = time.Now().UTC().Format(isoMillis)
	return f, nil
}

// LoadFile reads an identity file. The agentId stored in the file is ignored
// and re-derived from the public key, so a hand-edited or stale ID cannot
// make a client announce an ID that the server will compute differently. A
// private key, if present, must belong to the public key.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	var raw fileOnDisk
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("load identity %s: %w", path, err)
	}
	f := &File{
		PublicKey:  firstNonEmpty(raw.PublicKey, raw.Pubkey),
		PrivateKey: firstNonEmpty(raw.PrivateKey, raw.Privkey),
		Name:       raw.Name,
		Created:    raw.Created,
		Rotations:  raw.Rotations,
	}
	f.AgentID = AgentID(f.PublicKey)
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("load identity %s: %w", path, err)
	}
	return f, nil
}

// LoadOrCreate loads the identity at path, or creates, saves and returns a
// new one named name if there is none; created reports which. When two
// processes start at once, the first file to land wins and both use it.
func LoadOrCreate(path, name string) (f *File, created bool, err error) {
	f, err = LoadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, false, err // loaded, or present but unusable: never overwrite it
	}
	f, err = New(name)
	if err != nil {
		return nil, false, err
	}
	data, err := f.encode()
	if err != nil {
		return nil, false, fmt.Errorf("create identity %s: %w", path, err)
	}
	err = writeFile(path, data, true)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it since LoadFile above; use theirs.
		f, err = LoadFile(path)
		return f, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create identity %s: %w", path, err)
	}
	return f, true, nil
}

// Save writes f to path atomically with mode 0600 (see writeFile). It refuses
// to write keys that LoadFile would reject.
func (f *File) Save(path string) error {
	data, err := f.encode()
	if err != nil {
		return fmt.Errorf("save identity %s: %w", path, err)
	}
	if err := writeFile(path, data, false); err != nil {
		return fmt.Errorf("save identity %s: %w", path, err)
	}
	return nil
}

// Public returns the parsed public key, or nil if PublicKey has been set to
// something that is not an Ed25519 public key PEM.
func (f *File) Public() ed25519.PublicKey {
	pub, err := ParsePublicPEM(f.PublicKey)
	if err != nil {
		return nil
	}
	return pub
}

// Private returns the parsed private key, or nil for a public-only identity
// or a PrivateKey that does not parse.
func (f *File) Private() ed25519.PrivateKey {
	priv, err := ParsePrivatePEM(f.PrivateKey)
	if err != nil {
		return nil
	}
	return priv
}

// DefaultPath is where the CLI and daemon keep their identity,
// ~/.agentchat/identity.json. Without a home directory (HOME unset in a
// container) it falls back to ./.agentchat/identity.json, the location older
// clients used.
func DefaultPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".agentchat", "identity.json")
}

// signer returns the private key after checking both keys parse and belong
// together. A public-only identity yields ErrNoPrivateKey.
func (f *File) signer() (ed25519.PrivateKey, error) {
	pub, err := ParsePublicPEM(f.PublicKey)
	if err != nil {
		return nil, err
	}
	if f.PrivateKey == "" {
		return nil, ErrNoPrivateKey
	}
	priv, err := ParsePrivatePEM(f.PrivateKey)
	if err != nil {
		return nil, err
	}
	if !pub.Equal(priv.Public()) {
		return nil, ErrKeyMismatch
	}
	return priv, nil
}

// validate accepts what LoadFile accepts: a valid key pair, or a valid
// public key alone.
func (f *File) validate() error {
	if _, err := f.signer(); err != nil && !errors.Is(err, ErrNoPrivateKey) {
		return err
	}
	return nil
}

// encode renders f as the original client does (JSON.stringify with a
// 2-space indent, so no HTML escaping), with agentId re-derived.
func (f *File) encode() ([]byte, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	out := *f
	out.AgentID = AgentID(f.PublicKey)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fromKeys(pub ed25519.PublicKey, priv ed25519.PrivateKey) *File {
	pubPEM := EncodePublicPEM(pub)
	return &File{PublicKey: pubPEM, PrivateKey: EncodePrivatePEM(priv), AgentID: AgentID(pubPEM)}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
