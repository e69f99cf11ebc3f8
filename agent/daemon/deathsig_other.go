//go:build !linux

package daemon

import "syscall"

// setDeathSignal has no parent-death signal to set outside Linux: a child
// outlives a parent that is killed, and the pid lock is what finds it.
func setDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}
