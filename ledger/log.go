package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ipfs/go-datastore"
	"golang.org/x/mod/sumdb/tlog"
)

// Datastore layout of the receipt log. Numbers are zero-padded decimal so
// keys sort in numeric order.
//
//	/log/size               number of records
//	/log/hash/<index>       tlog stored hash <index> (32 bytes)
//	/log/entry/<n>          proposal ID of record n
//	/log/index/<proposal>   n, the record number of that receipt
var (
	logSizeKey    = datastore.NewKey("/log/size")
	logHashPrefix = "/log/hash/"
	logEntryPfx   = "/log/entry/"
	logIndexPfx   = "/log/index/"
)

func numKey(prefix string, n int64) datastore.Key {
	return datastore.RawKey(fmt.Sprintf("%s%020d", prefix, n))
}

// merkleLog is the append-only tlog tree of the receipts this node
// countersigned, kept in a datastore. Stored hashes never change once
// written, so reading them needs no lock; size is owned by Store (under
// Store.mu).
type merkleLog struct {
	ds   datastore.Batching
	size int64
}

func loadLog(ctx context.Context, ds datastore.Batching) (*merkleLog, error) {
	l := &merkleLog{ds: ds}
	v, err := ds.Get(ctx, logSizeKey)
	switch {
	case errors.Is(err, datastore.ErrNotFound):
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("load log size: %w", err)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("load log size: %w: %q", ErrMalformed, v)
	}
	l.size = n
	return l, nil
}

// reader returns a tlog.HashReader over the stored hashes.
func (l *merkleLog) reader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, ix := range indexes {
			v, err := l.ds.Get(ctx, numKey(logHashPrefix, ix))
			if err != nil {
				return nil, fmt.Errorf("read log hash %d: %w", ix, err)
			}
			if len(v) != tlog.HashSize {
				return nil, fmt.Errorf("read log hash %d: %w: %d bytes", ix, ErrMalformed, len(v))
			}
			copy(out[i][:], v)
		}
		return out, nil
	})
}

// stage adds record number l.size (the receipt id with canonical bytes
// data) to batch: its stored hashes, the entry and index keys and the new
// size. The caller commits the batch and then calls committed.
func (l *merkleLog) stage(ctx context.Context, b datastore.Batch, id string, data []byte) error {
	n := l.size
	hashes, err := tlog.StoredHashes(n, data, l.reader(ctx))
	if err != nil {
		return fmt.Errorf("append record %d: %w", n, err)
	}
	base := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		if err := b.Put(ctx, numKey(logHashPrefix, base+int64(i)), h[:]); err != nil {
			return err
		}
	}
	puts := []struct {
		k datastore.Key
		v string
	}{
		{numKey(logEntryPfx, n), id},
		{datastore.RawKey(logIndexPfx + id), strconv.FormatInt(n, 10)},
		{logSizeKey, strconv.FormatInt(n+1, 10)},
	}
	for _, p := range puts {
		if err := b.Put(ctx, p.k, []byte(p.v)); err != nil {
			return err
		}
	}
	return nil
}

// committed records that the staged append is in the datastore.
func (l *merkleLog) committed() { l.size++ }

// index returns the record number of receipt id, or ErrNotFound.
func (l *merkleLog) index(ctx context.Context, id string) (int64, error) {
	v, err := l.ds.Get(ctx, datastore.RawKey(logIndexPfx+id))
	if errors.Is(err, datastore.ErrNotFound) {
		return 0, fmt.Errorf("receipt %q is not in this node's log: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("read log index of %q: %w", id, err)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("read log index of %q: %w: %q", id, ErrMalformed, v)
	}
	return n, nil
}

// root returns the tree hash of the first size records.
func (l *merkleLog) root(ctx context.Context, size int64) (tlog.Hash, error) {
	h, err := tlog.TreeHash(size, l.reader(ctx))
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("log root at size %d: %w", size, err)
	}
	return h, nil
}

// prove returns the inclusion proof of record n in the tree of size records.
func (l *merkleLog) prove(ctx context.Context, size, n int64) (tlog.RecordProof, error) {
	p, err := tlog.ProveRecord(size, n, l.reader(ctx))
	if err != nil {
		return nil, fmt.Errorf("prove record %d in log of %d: %w", n, size, err)
	}
	return p, nil
}
