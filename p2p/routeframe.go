package p2p

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The routed request frame, in order:
//
//	version  1 byte (routeVersion)
//	hops     1 byte: hops it may still take; each relay decrements it
//	budget   4 bytes, big-endian milliseconds the origin still waits for
//	         the answer; each relay rewrites it to what it has left
//	origin   uvarint length + peer ID bytes: the requesting node
//	target   uvarint length + peer ID bytes: the node that answers
//	proto    uvarint length + protocol ID: the handler at the target
//	id       16 random bytes; the target runs the handler for an
//	         (origin, id) once and answers a repeat from its cache
//	time     8 bytes, big-endian unix nanoseconds at the origin
//	sig      64 bytes: origin's Ed25519 signature (see signed)
//	payload  the rest: the request itself
//
// The routed response body (in a statusOK frame from the first hop):
//
//	status   1 byte: the target handler's status (statusOK, statusError, …)
//	sig      64 bytes: target's signature over routeRespDomain, id, status, body
//	body     the rest
//
// Version 2 added the budget; a version 1 frame is refused as malformed.
// Binary rather than JSON so a file chunk near MaxMessageSize fits with a
// fixed overhead (routeOverhead) instead of a third more for base64.

const (
	routeVersion    byte = 2
	routeReqDomain       = "agentchat/route/2 request\n"
	routeRespDomain      = "agentchat/route/2 response\n"
	maxRouteID           = 128 // bytes of a peer ID; Ed25519 ones take 38
	maxRouteProto        = 256
	// routeHeader is the unsigned head: version, hops, budget.
	routeHeader = 2 + 4
	// routeOverhead bounds everything in a routed frame but the payload.
	routeOverhead = routeHeader + 2*(binary.MaxVarintLen16+maxRouteID) + binary.MaxVarintLen16 + maxRouteProto + 16 + 8 + ed25519.SignatureSize
)

var errRouteFrame = errors.New("malformed routed frame")

// routedRequest is a request travelling hop by hop to a node this host is
// not connected to.
type routedRequest struct {
	Hops    byte
	Budget  time.Duration // milliseconds on the wire
	Origin  peer.ID
	Target  peer.ID
	Proto   string
	ID      [16]byte
	Time    int64
	Sig     []byte
	Payload []byte
}

// head appends the signed fields before the signature.
func (r *routedRequest) head(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.Origin)))
	b = append(b, r.Origin...)
	b = binary.AppendUvarint(b, uint64(len(r.Target)))
	b = append(b, r.Target...)
	b = binary.AppendUvarint(b, uint64(len(r.Proto)))
	b = append(b, r.Proto...)
	b = append(b, r.ID[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(r.Time))
}

// signed is what the origin signs: every field but the hop count and the
// budget, which relays change.
func (r *routedRequest) signed() []byte {
	b := make([]byte, 0, len(routeReqDomain)+routeOverhead+len(r.Payload))
	b = append(b, routeReqDomain...)
	b = r.head(b)
	return append(b, r.Payload...)
}

func (r *routedRequest) sign(key ed25519.PrivateKey) { r.Sig = ed25519.Sign(key, r.signed()) }

// verify checks the origin's signature with the key its peer ID embeds.
func (r *routedRequest) verify() error {
	pub, err := PublicKeyFromPeerID(r.Origin.String())
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, r.signed(), r.Sig) {
		return fmt.Errorf("%w: bad signature from %s", errRouteFrame, r.Origin)
	}
	return nil
}

func (r *routedRequest) encode() []byte {
	b := make([]byte, routeHeader, routeOverhead+len(r.Payload))
	setRouting(b, r.Hops, r.Budget)
	b = r.head(b)
	b = append(b, r.Sig...)
	return append(b, r.Payload...)
}

// decodeRouted parses a routed request frame; the payload aliases b.
func decodeRouted(b []byte) (*routedRequest, error) {
	if len(b) < routeHeader || b[0] != routeVersion {
		return nil, fmt.Errorf("%w: version", errRouteFrame)
	}
	r := &routedRequest{Hops: b[1], Budget: time.Duration(binary.BigEndian.Uint32(b[2:])) * time.Millisecond}
	b = b[routeHeader:]
	var field []byte
	var ok bool
	var err error
	if field, b, ok = chunk(b, maxRouteID); !ok {
		return nil, fmt.Errorf("%w: origin", errRouteFrame)
	}
	if r.Origin, err = peer.IDFromBytes(field); err != nil {
		return nil, fmt.Errorf("%w: origin: %v", errRouteFrame, err)
	}
	if field, b, ok = chunk(b, maxRouteID); !ok {
		return nil, fmt.Errorf("%w: target", errRouteFrame)
	}
	if r.Target, err = peer.IDFromBytes(field); err != nil {
		return nil, fmt.Errorf("%w: target: %v", errRouteFrame, err)
	}
	if field, b, ok = chunk(b, maxRouteProto); !ok || len(field) == 0 {
		return nil, fmt.Errorf("%w: protocol", errRouteFrame)
	}
	r.Proto = string(field)
	if len(b) < len(r.ID)+8+ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: short", errRouteFrame)
	}
	copy(r.ID[:], b)
	r.Time = int64(binary.BigEndian.Uint64(b[len(r.ID):]))
	b = b[len(r.ID)+8:]
	r.Sig, r.Payload = b[:ed25519.SignatureSize], b[ed25519.SignatureSize:]
	return r, nil
}

// setRouting writes the unsigned head of a routed frame into raw: the
// version, the hops left and the budget, whole milliseconds (capped at the
// field's range, negative as zero).
func setRouting(raw []byte, hops byte, budget time.Duration) {
	ms := min(max(budget.Milliseconds(), 0), math.MaxUint32)
	raw[0], raw[1] = routeVersion, hops
	binary.BigEndian.PutUint32(raw[2:routeHeader], uint32(ms))
}

// chunk splits a uvarint-length-prefixed field of at most limit bytes off
// b; the length must be minimally encoded, so a frame has one encoding.
func chunk(b []byte, limit int) (field, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(limit) || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}

// routeRespSigned is what the target signs in its answer to request id.
func routeRespSigned(id [16]byte, status byte, body []byte) []byte {
	b := make([]byte, 0, len(routeRespDomain)+len(id)+1+len(body))
	b = append(b, routeRespDomain...)
	b = append(b, id[:]...)
	b = append(b, status)
	return append(b, body...)
}

// encodeRouteResp builds the target's signed answer.
func encodeRouteResp(key ed25519.PrivateKey, id [16]byte, status byte, body []byte) []byte {
	b := make([]byte, 0, 1+ed25519.SignatureSize+len(body))
	b = append(b, status)
	b = append(b, ed25519.Sign(key, routeRespSigned(id, status, body))...)
	return append(b, body...)
}

// decodeRouteResp checks that target answered request id and returns the
// handler's status and body.
func decodeRouteResp(target peer.ID, id [16]byte, b []byte) (byte, []byte, error) {
	if len(b) < 1+ed25519.SignatureSize {
		return 0, nil, fmt.Errorf("%w: short response", errRouteFrame)
	}
	status, sig, body := b[0], b[1:1+ed25519.SignatureSize], b[1+ed25519.SignatureSize:]
	pub, err := PublicKeyFromPeerID(target.String())
	if err != nil {
		return 0, nil, err
	}
	if !ed25519.Verify(pub, routeRespSigned(id, status, body), sig) {
		return 0, nil, fmt.Errorf("%w: response not signed by %s", errRouteFrame, target)
	}
	return status, body, nil
}
