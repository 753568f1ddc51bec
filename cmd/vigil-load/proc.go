package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ),
// 100 on every Linux architecture Vigil runs on.
const clockTicks = 100

// cpuTime returns the user plus system time a process has used.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	// The command name may hold spaces and parentheses: fields count from
	// the last ')'. utime and stime are fields 14 and 15 of the line.
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	sys, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	return time.Duration(user+sys) * time.Second / clockTicks, nil
}

// peakRSS returns a process's resident high-water mark, in bytes.
func peakRSS(pid int) (int64, error) {
	return procStatus(pid, "VmHWM:")
}

// ownCPU returns the user plus system time of this process.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTimes returns the CPU time of each process, and of this one last.
func cpuTimes(ps []process) ([]time.Duration, error) {
	out := make([]time.Duration, 0, len(ps)+1)
	for _, p := range ps {
		t, err := cpuTime(p.PID)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return append(out, ownCPU()), nil
}
