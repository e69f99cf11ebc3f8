//go:build !linux

package node

import "log/slog"

// newParker has no parker to offer outside Linux: readers never park, and
// an idle agent keeps its reader goroutine.
func newParker(*slog.Logger) (parker, error) { return nil, nil }
