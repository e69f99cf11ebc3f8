package p2p

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const echo = "/agentchat/test/echo/1"

func TestRequestRoundTrip(t *testing.T) {
	hs := line(t, 2)
	a, b := hs[0], hs[1]
	b.HandleRequest(echo, func(_ context.Context, from string, req []byte) ([]byte, error) {
		if string(req) == "fail" {
			return nil, errors.New("handler says no")
		}
		return append([]byte(from+":"), req...), nil
	})

	resp, err := a.Request(t.Context(), b.ID(), echo, []byte("ping"))
	require.NoError(t, err)
	require.Equal(t, a.ID()+":ping", string(resp))

	resp, err = a.Request(t.Context(), b.ID(), echo, nil)
	require.NoError(t, err)
	require.Equal(t, a.ID()+":", string(resp))

	_, err = a.Request(t.Context(), b.ID(), echo, []byte("fail"))
	require.ErrorIs(t, err, ErrRemote)
	require.ErrorContains(t, err, "handler says no")

	_, err = a.Request(t.Context(), b.ID(), "/agentchat/test/none/1", []byte("x"))
	require.Error(t, err)

	_, err = a.Request(t.Context(), "bogus", echo, nil)
	require.ErrorIs(t, err, ErrBadPeerID)
}

func TestRequestTooLarge(t *testing.T) {
	const small = 1024
	// A accepts at most 1 KiB; B up to 4 KiB.
	a := newHost(t, func(c *Config) { c.MaxMessageSize = small })
	b := newHost(t, func(c *Config) { c.MaxMessageSize = 4 * small })
	connect(t, a, b)
	b.HandleRequest(echo, func(_ context.Context, _ string, req []byte) ([]byte, error) {
		return make([]byte, len(req)), nil
	})

	// Fits both limits.
	resp, err := a.Request(t.Context(), b.ID(), echo, make([]byte, small))
	require.NoError(t, err)
	require.Len(t, resp, small)

	// The request itself is over A's limit: refused before sending.
	_, err = a.Request(t.Context(), b.ID(), echo, make([]byte, small+1))
	require.ErrorIs(t, err, ErrTooLarge)

	// B answers 2 KiB (within its limit) to B's request: over A's limit
	// when A reads it.
	b.HandleRequest(echo, func(context.Context, string, []byte) ([]byte, error) {
		return make([]byte, 2*small), nil
	})
	_, err = a.Request(t.Context(), b.ID(), echo, []byte("x"))
	require.ErrorIs(t, err, ErrTooLarge)

	// B's handler answers more than B's own limit: B refuses to send it
	// and says so.
	b.HandleRequest(echo, func(context.Context, string, []byte) ([]byte, error) {
		return make([]byte, 4*small+1), nil
	})
	_, err = a.Request(t.Context(), b.ID(), echo, []byte("x"))
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorContains(t, err, "remote")

	// A's request over B's limit (B reads at most 1 KiB here): B resets.
	a.HandleRequest(echo, func(context.Context, string, []byte) ([]byte, error) { return nil, nil })
	_, err = b.Request(t.Context(), a.ID(), echo, make([]byte, 2*small))
	require.Error(t, err)
}

// Many concurrent requests over QUIC all succeed. (A server that answers
// and closes before the client has closed its write side cancels that
// side; the client must not count it as a failed request. The window is
// too narrow to hit here on demand; under load it failed about one mesh
// transfer test in ten before writeRequest stopped checking CloseWrite.)
func TestRequestsBackToBack(t *testing.T) {
	a, b := newHost(t), newHost(t)
	var quic string
	for _, addr := range b.Addrs() {
		if strings.Contains(addr, "/quic-v1") {
			quic = addr
		}
	}
	require.NotEmpty(t, quic, "b listens on QUIC: %v", b.Addrs())
	require.NoError(t, a.Connect(t.Context(), quic))
	b.HandleRequest(echo, func(_ context.Context, _ string, req []byte) ([]byte, error) { return req, nil })
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				req := []byte(fmt.Sprintf("%d-%d", w, i))
				resp, err := a.Request(t.Context(), b.ID(), echo, req)
				if err == nil && string(resp) != string(req) {
					err = fmt.Errorf("answer %q to %q", resp, req)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
