//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a process group of its own: a Ctrl-C at the terminal then
// reaches the sweep alone, which passes it on once (runTrialsParallel).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// interrupt asks a trial's process to stop as Ctrl-C does: finish the update, save
// interrupted/ and exit 130.
func interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }
