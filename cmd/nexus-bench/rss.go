package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// memStatus is the resident memory of a process from /proc/<pid>/status, in
// bytes. Zero means unknown (not Linux, or the process is gone).
type memStatus struct {
	RSS  uint64 // VmRSS: resident now
	Peak uint64 // VmHWM: the peak resident size ("high water mark")
}

// readMemStatus reads /proc/<pid>/status; pid 0 means this process.
func readMemStatus(pid int) memStatus {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return memStatus{}
	}
	return parseMemStatus(data)
}

// parseMemStatus extracts VmRSS and VmHWM (given in kB) from a status file.
func parseMemStatus(data []byte) memStatus {
	var m memStatus
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, rest, ok := bytes.Cut(sc.Bytes(), []byte{':'})
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		default:
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if kb, err := strconv.ParseUint(string(f[0]), 10, 64); err == nil {
			*dst = kb << 10
		}
	}
	return m
}

// mib formats bytes in MiB, "n/a" when unknown.
func mib(b uint64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
