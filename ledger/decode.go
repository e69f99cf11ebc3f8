package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeReceipt parses one receipt in JSON and checks its shape (not its
// signatures; that is Verify). Unknown members, trailing data, a version
// other than ReceiptVersion and missing required fields are errors wrapping
// ErrMalformed (or ErrNotParty for an outcome by a non-party). Member names
// match case-insensitively, as encoding/json does, so the canonical form is
// not the only one accepted; it is the only one produced.
func DecodeReceipt(data []byte) (Receipt, error) {
	var r Receipt
	if err := r.UnmarshalJSON(data); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// receiptFields is Receipt without its methods, for encoding/json.
type receiptFields Receipt

// UnmarshalJSON decodes strictly, as DecodeReceipt. On error r is unchanged.
func (r *Receipt) UnmarshalJSON(data []byte) error {
	var f receiptFields
	if err := decodeStrict(data, &f); err != nil {
		return fmt.Errorf("decode receipt: %w", err)
	}
	dec := Receipt(f)
	if err := dec.validate(); err != nil {
		return fmt.Errorf("decode receipt %q: %w", dec.ID(), err)
	}
	*r = dec
	return nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// object members and anything after the value. Errors wrap ErrMalformed.
func decodeStrict(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after JSON value", ErrMalformed)
	}
	return nil
}
