//go:build !unix

package agent

import "os/exec"

// killProcessGroup leaves cmd as it is: without process groups, only the
// command itself is killed when its context ends.
func killProcessGroup(*exec.Cmd) {}
