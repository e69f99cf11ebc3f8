package daemon

import "syscall"

// setDeathSignal asks the kernel to send sig to the child when its parent
// thread exits (PR_SET_PDEATHSIG).
func setDeathSignal(attr *syscall.SysProcAttr, sig syscall.Signal) { attr.Pdeathsig = sig }
