package node

import "crypto/ed25519"

// Settings an operator may change while the node runs (cmd's SIGHUP).
// Each is read where it is used, never copied, so a change applies to the
// next frame that needs it; agents already connected stay connected.

// allowlist modes, stored in Server.allowMode.
const (
	allowOff = iota
	allowOn
	allowStrict
)

func modeOf(enabled, strict bool) int32 {
	switch {
	case strict:
		return allowStrict
	case enabled:
		return allowOn
	}
	return allowOff
}

// Allowlist reports whether the allowlist is on, and strict.
func (s *Server) Allowlist() (enabled, strict bool) {
	m := s.allowMode.Load()
	return m != allowOff, m == allowStrict
}

// SetAllowlist switches the allowlist at run time: enabled turns it on,
// strict (which implies enabled) refuses pubkeys not on it and ephemeral
// agents. It reports whether the mode changed.
func (s *Server) SetAllowlist(enabled, strict bool) bool {
	m := modeOf(enabled, strict)
	if s.allowMode.Swap(m) == m {
		return false
	}
	s.log.Info("allowlist mode changed", "enabled", m != allowOff, "strict", m == allowStrict)
	return true
}

// SetHonorBansFrom replaces the operator keys whose ban records this node
// enforces (Config.HonorBansFrom; its own key always counts) and reports
// whether the set changed; see BanSet.SetHonoured.
func (s *Server) SetHonorBansFrom(keys []ed25519.PublicKey) bool {
	return s.bans.SetHonoured(keys)
}
