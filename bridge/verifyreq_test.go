package bridge_test

import (
	"crypto/ed25519"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/testnet"
)

var reVerifyID = regexp.MustCompile(`^verify_[0-9a-z]+_[0-9a-f]{8}$`)

const verifyNonce = "0123456789abcdef0123"

// askVerify sends a VERIFY_REQUEST from a to target and returns the
// request ID after checking both the requester's acknowledgement and what
// the target got.
func askVerify(t *testing.T, a, target *testnet.Agent) string {
	t.Helper()
	require.NoError(t, a.Send(map[string]any{"type": "VERIFY_REQUEST", "target": "@" + target.ID, "nonce": verifyNonce}))
	ack, err := a.Next(ctxFor(t, 20*time.Second), "VERIFY_REQUEST", "ERROR")
	require.NoError(t, err)
	require.Equal(t, "pending", ack.String("status"), "%s", ack.Raw)
	require.Equal(t, "@"+target.ID, ack.String("target"))
	id := ack.String("request_id")
	require.Regexp(t, reVerifyID, id)
	req, err := target.Next(ctxFor(t, 20*time.Second), "VERIFY_REQUEST")
	require.NoError(t, err)
	require.Equal(t, id, req.String("request_id"))
	require.Equal(t, "@"+a.ID, req.String("from"))
	require.Equal(t, verifyNonce, req.String("nonce"))
	return id
}

func answerVerify(t *testing.T, target *testnet.Agent, id, nonce string, key ed25519.PrivateKey) {
	t.Helper()
	require.NoError(t, target.Send(map[string]any{"type": "VERIFY_RESPONSE", "request_id": id, "nonce": nonce,
		"sig": identity.Sign(key, nonce)}))
}

func nextFrame(t *testing.T, a *testnet.Agent, types ...string) testnet.Frame {
	t.Helper()
	f, err := a.Next(ctxFor(t, 20*time.Second), types...)
	require.NoError(t, err, "%s waiting for %v", a.Name, types)
	return f
}

// verifyBothWays has a verify target and target verify a, both succeeding
// with the frames of one node.
func verifyBothWays(t *testing.T, a, b *testnet.Agent, aKey, bKey ed25519.PrivateKey) {
	t.Helper()
	for _, p := range []struct {
		from, to *testnet.Agent
		key      ed25519.PrivateKey
	}{{a, b, bKey}, {b, a, aKey}} {
		id := askVerify(t, p.from, p.to)
		answerVerify(t, p.to, id, verifyNonce, p.key)
		ok := nextFrame(t, p.from, "VERIFY_SUCCESS", "VERIFY_FAILED")
		require.Equal(t, "VERIFY_SUCCESS", ok.Type, "%s", ok.Raw)
		require.Equal(t, id, ok.String("request_id"))
		require.Equal(t, "@"+p.to.ID, ok.String("agent"))
		require.Equal(t, identity.EncodePublicPEM(p.key.Public().(ed25519.PublicKey)), ok.String("pubkey"))
		mine := nextFrame(t, p.to, "VERIFY_SUCCESS", "VERIFY_FAILED")
		require.Equal(t, "VERIFY_SUCCESS", mine.Type)
		require.Equal(t, id, mine.String("request_id"))
		require.Equal(t, true, mine.Data["verified"])
	}
}

// The ends of a line of four nodes, whose last node lets only its
// neighbour connect, verify each other: the requests and answers travel
// hop by hop through the two nodes between. A wrong signature or nonce is
// caught as on one node.
func TestVerifyAlongFirewalledLine(t *testing.T) {
	net := startWired(t, 4, testnet.Line, func(i int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		if i == 3 {
			testnet.OnlyWired(cfg)
		}
	})
	aKey, dKey := newKey(t), newKey(t)
	a := connect(t, net, 0, "alice", aKey)
	d := connect(t, net, 3, "dave", dKey)
	waitListed(t, a, "#general", d.ID)
	waitListed(t, d, "#general", a.ID)

	verifyBothWays(t, a, d, aKey, dKey)

	id := askVerify(t, a, d) // signed with another key
	answerVerify(t, d, id, verifyNonce, newKey(t))
	failed := nextFrame(t, a, "VERIFY_SUCCESS", "VERIFY_FAILED")
	require.Equal(t, "VERIFY_FAILED", failed.Type)
	require.Equal(t, id, failed.String("request_id"))
	require.Equal(t, "@"+d.ID, failed.String("target"))
	require.Equal(t, "Signature verification failed", failed.String("reason"))
	require.Equal(t, false, nextFrame(t, d, "VERIFY_FAILED").Data["verified"])

	id = askVerify(t, a, d) // the wrong nonce: refused, the request stays
	answerVerify(t, d, id, verifyNonce+"x", dKey)
	e := nextFrame(t, d, "ERROR")
	require.Equal(t, "INVALID_MSG", e.String("code"))
	require.Equal(t, "Nonce mismatch", e.String("message"))
	answerVerify(t, d, id, verifyNonce, dKey)
	require.Equal(t, "VERIFY_SUCCESS", nextFrame(t, a, "VERIFY_SUCCESS", "VERIFY_FAILED").Type)

	require.Equal(t, []string{net.Nodes[2].Host.ID()}, net.Nodes[3].Host.Peers(), "the verifications must not have gone direct")
}

// A target on another node that does not answer times out for the
// requester as on one node, and its late answer finds the request gone;
// a target without a key, one that does not exist and an agent answering
// for another get the errors of one node.
func TestVerifyAcrossNodesErrors(t *testing.T) {
	net := startMesh(t, 2, func(_ int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		cfg.Node.VerifyTimeout = 3 * time.Second // long enough for the ask to be acknowledged on a loaded machine
	})
	a := connect(t, net, 0, "alice", nil)
	dKey := newKey(t)
	d := connect(t, net, 1, "dave", dKey)
	other := connect(t, net, 1, "other", newKey(t))
	eph := connect(t, net, 1, "ephemeral", nil)
	waitListed(t, a, "#general", d.ID, other.ID, eph.ID)

	id := askVerify(t, a, d)
	answerVerify(t, other, id, verifyNonce, dKey) // not the target
	e := nextFrame(t, other, "ERROR")
	require.Equal(t, "INVALID_MSG", e.String("code"))
	timedOut := nextFrame(t, a, "VERIFY_FAILED", "VERIFY_SUCCESS")
	require.Equal(t, "VERIFY_FAILED", timedOut.Type)
	require.Equal(t, id, timedOut.String("request_id"))
	require.Equal(t, "@"+d.ID, timedOut.String("target"))
	require.Equal(t, "Verification timed out", timedOut.String("reason"))
	answerVerify(t, d, id, verifyNonce, dKey)
	require.Equal(t, "VERIFICATION_EXPIRED", nextFrame(t, d, "ERROR").String("code"))

	for target, code := range map[string]string{"@" + eph.ID: "NO_PUBKEY", "@0000000000000000": "AGENT_NOT_FOUND"} {
		require.NoError(t, a.Send(map[string]any{"type": "VERIFY_REQUEST", "target": target, "nonce": verifyNonce}))
		require.Equal(t, code, nextFrame(t, a, "ERROR", "VERIFY_REQUEST").String("code"), target)
	}
}
