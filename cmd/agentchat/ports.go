package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	ma "github.com/multiformats/go-multiaddr"
)

// checkPortsFree fails if the websocket address or a p2p listen address
// is already bound, before libp2p starts. libp2p binds its TCP listeners
// with SO_REUSEPORT, so without this check a second node on the same port
// would start and silently share the port with the first; our probe binds
// without SO_REUSEPORT, which the kernel refuses while anyone holds the
// port. Port 0 (any free port) and addresses that are not IP+TCP/UDP
// (DNS names) are not probed.
func checkPortsFree(wsListen string, p2pListen []string) error {
	if _, port, _ := net.SplitHostPort(wsListen); port != "0" {
		if err := probe("tcp", wsListen); err != nil {
			return fmt.Errorf("--listen %s: %w", wsListen, err)
		}
	}
	for _, s := range p2pListen {
		network, addr, err := probeAddr(s)
		if err != nil {
			return fmt.Errorf("--p2p-listen %s: %w", s, err)
		}
		if network == "" {
			continue
		}
		if err := probe(network, addr); err != nil {
			return fmt.Errorf("--p2p-listen %s: %w", s, err)
		}
	}
	return nil
}

// probeAddr maps a multiaddr to the network and host:port to probe; ""
// when it is not probed.
func probeAddr(s string) (network, addr string, err error) {
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return "", "", err
	}
	host, err := m.ValueForProtocol(ma.P_IP4)
	if err != nil {
		if host, err = m.ValueForProtocol(ma.P_IP6); err != nil {
			return "", "", nil
		}
	}
	for _, p := range []struct {
		code    int
		network string
	}{{ma.P_TCP, "tcp"}, {ma.P_UDP, "udp"}} {
		if port, err := m.ValueForProtocol(p.code); err == nil {
			if port == "0" {
				return "", "", nil
			}
			return p.network, net.JoinHostPort(host, port), nil
		}
	}
	return "", "", nil
}

// errPortInUse explains a failed probe.
var errPortInUse = errors.New("address already in use (is another node running?)")

// probe binds addr on network and lets it go at once.
func probe(network, addr string) error {
	var err error
	switch network {
	case "tcp":
		var l net.Listener
		if l, err = net.Listen(network, addr); err == nil {
			return l.Close()
		}
	case "udp":
		var pc net.PacketConn
		if pc, err = net.ListenPacket(network, addr); err == nil {
			return pc.Close()
		}
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return errPortInUse
	}
	return err
}
