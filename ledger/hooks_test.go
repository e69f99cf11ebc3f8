package ledger

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHooksOrderAndUnsubscribe(t *testing.T) {
	h := NewHooks(nil)
	var got []string
	add := func(name string, err error) func() {
		return h.On(EventEscrowCreated, func(Event) error { got = append(got, name); return err })
	}
	add("1", errors.New("first failed"))
	off2 := add("2", nil)
	h.On(EventEscrowCreated, func(Event) error { got = append(got, "3"); panic("boom") })
	add("4", nil)
	h.On(EventEscrowReleased, func(Event) error { got = append(got, "other"); return nil })

	errs := h.Emit(Event{Event: EventEscrowCreated, ProposalID: "p1"})
	require.Equal(t, []string{"1", "2", "3", "4"}, got)
	require.Len(t, errs, 2)
	require.ErrorContains(t, errs[1], "boom")

	got = nil
	off2()
	off2() // harmless
	h.Emit(Event{Event: EventEscrowCreated, ProposalID: "p2"})
	require.Equal(t, []string{"1", "3", "4"}, got)
	require.Equal(t, 3, h.Count(EventEscrowCreated))

	recorded := h.Errors()
	require.Len(t, recorded, 4)
	require.Equal(t, "p2", recorded[3].ProposalID)

	require.Panics(t, func() { h.On("escrow:unknown", func(Event) error { return nil }) })
	require.Panics(t, func() { h.On(EventEscrowCreated, nil) })
	var none *Hooks
	require.Nil(t, none.Emit(Event{Event: EventEscrowCreated}))
	var zero Hooks
	zero.On(EventEscrowCreated, func(Event) error { return errors.New("x") })
	require.Len(t, zero.Emit(Event{Event: EventEscrowCreated}), 1)
}

func TestHooksErrorsBounded(t *testing.T) {
	h := NewHooks(nil)
	h.On(EventEscrowReleased, func(Event) error { return errors.New("x") })
	for range maxHookErrors + 5 {
		h.Emit(Event{Event: EventEscrowReleased})
	}
	require.Len(t, h.Errors(), maxHookErrors)
}
