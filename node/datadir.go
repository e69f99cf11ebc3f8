package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
)

// DataDir is an opened node data directory: an exclusive lock, the embedded
// datastore and the node key. One process holds it at a time.
type DataDir struct {
	Path  string
	Store datastore.Batching
	Key   ed25519.PrivateKey

	lock *os.File
	ds   *leveldb.Datastore
}

// keyKey is where the node key's 32-byte seed is stored.
var keyKey = datastore.NewKey("/node/key")

// OpenDataDir creates (if needed) and opens the data dir at path: it takes
// the lock file, opens the LevelDB datastore under path/datastore and loads
// the node key, generating and storing one on first use. A second node on
// the same dir gets ErrDataDirLocked.
func OpenDataDir(ctx context.Context, path string) (*DataDir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(path, "node.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrDataDirLocked)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	ds, err := leveldb.NewDatastore(filepath.Join(path, "datastore"), nil)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open datastore: %w", err)
	}
	d := &DataDir{Path: path, Store: ds, lock: lock, ds: ds}
	if d.Key, err = loadNodeKey(ctx, ds); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func loadNodeKey(ctx context.Context, ds datastore.Datastore) (ed25519.PrivateKey, error) {
	seed, err := ds.Get(ctx, keyKey)
	switch {
	case errors.Is(err, datastore.ErrNotFound):
		seed = make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("generate node key: %w", err)
		}
		if err := ds.Put(ctx, keyKey, seed); err != nil {
			return nil, fmt.Errorf("store node key: %w", err)
		}
		if err := ds.Sync(ctx, keyKey); err != nil {
			return nil, fmt.Errorf("sync node key: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("read node key: %w", err)
	case len(seed) != ed25519.SeedSize:
		return nil, fmt.Errorf("node key in datastore is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Close closes the datastore, then releases the lock.
func (d *DataDir) Close() error {
	err := d.ds.Close()
	if cerr := d.lock.Close(); err == nil {
		err = cerr
	}
	return err
}
