//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// ownProcessGroup does nothing where there are no process groups to leave.
func ownProcessGroup(*exec.Cmd) {}

// interrupt stops a trial's process; without signals to send, it is killed (its newest
// checkpoint is where the next run resumes).
func interrupt(p *os.Process) error { return p.Kill() }
