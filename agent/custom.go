package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// CustomSource supplies the custom metrics of a report, in ascending name
// order with each name once, as proto.Report.CustomMetrics holds them.
type CustomSource interface {
	CustomMetrics(ctx context.Context) ([]proto.CustomMetric, error)
}

// maxCustomOutput bounds what a custom metric file or command may produce.
const maxCustomOutput = 64 << 10

// DefaultCommandTimeout bounds a custom metric command's run.
const DefaultCommandTimeout = 10 * time.Second

// FileSource reads custom metrics from a file on every report.
type FileSource struct {
	Path string
}

// CustomMetrics reads and parses the file. See ParseCustomMetrics.
func (f FileSource) CustomMetrics(context.Context) ([]proto.CustomMetric, error) {
	file, err := os.Open(f.Path)
	if err != nil {
		return nil, fmt.Errorf("read custom metrics file: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxCustomOutput+1))
	if err != nil {
		return nil, fmt.Errorf("read custom metrics file: %w", err)
	}
	if len(data) > maxCustomOutput {
		return nil, fmt.Errorf("custom metrics file %s is over %d bytes", f.Path, maxCustomOutput)
	}
	m, err := ParseCustomMetrics(data)
	if err != nil {
		return nil, fmt.Errorf("custom metrics file %s: %w", f.Path, err)
	}
	return m, nil
}

// CommandSource runs a command through /bin/sh on every report and parses
// its standard output.
type CommandSource struct {
	Command string
	// Timeout bounds a run; 0 means DefaultCommandTimeout. When it passes,
	// the command and every process it started are killed.
	Timeout time.Duration
}

// pipeGrace bounds how long a killed command's output pipes are drained:
// a process that left the command's process group may hold them open.
const pipeGrace = time.Second

// CustomMetrics runs the command and parses its output. See
// ParseCustomMetrics.
func (c CommandSource) CustomMetrics(ctx context.Context) ([]proto.CustomMetric, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("no result within %v", timeout))
	defer cancel()
	out, errOut := &limitedBuffer{}, &limitedBuffer{}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Command)
	cmd.Stdout, cmd.Stderr = out, errOut
	cmd.WaitDelay = pipeGrace
	killProcessGroup(cmd)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("custom metrics command %q killed: %w", c.Command, context.Cause(ctx))
		}
		return nil, fmt.Errorf("custom metrics command %q: %w (stderr: %s)", c.Command, err, bytes.TrimSpace(errOut.buf.Bytes()))
	}
	if out.over {
		return nil, fmt.Errorf("custom metrics command %q printed more than %d bytes", c.Command, maxCustomOutput)
	}
	m, err := ParseCustomMetrics(out.buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("custom metrics command %q: %w", c.Command, err)
	}
	return m, nil
}

// limitedBuffer keeps the first maxCustomOutput bytes written to it and
// discards the rest. It has no ReadFrom method, so that io.Copy goes
// through Write and the limit holds.
type limitedBuffer struct {
	buf  bytes.Buffer
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	keep := p
	if room := maxCustomOutput - b.buf.Len(); len(p) > room {
		b.over = true
		keep = p[:max(room, 0)]
	}
	b.buf.Write(keep)
	return len(p), nil
}

// ParseCustomMetrics reads custom metrics in either of two forms. A JSON
// object is the custom_metrics block of a report:
//
//	{"cpu_usage": [{"number": 12.5}], "users": [{"string_list": ["alice"]}]}
//
// Otherwise each non-empty line not starting with # is "NAME TYPE VALUE",
// with TYPE number, number-list, string-list or ip-address-list and list
// values separated by commas:
//
//	cpu_usage number 12.5
//	peers ip-address-list 10.0.0.1,10.0.0.2
//
// The metrics come back in ascending name order, each name once; nothing
// to report is an empty, non-nil list.
func ParseCustomMetrics(data []byte) ([]proto.CustomMetric, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return proto.DecodeCustomMetrics(trimmed)
	}
	list := []proto.CustomMetric{}
	lines := map[string]int{} // the line of each name
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name, v, err := proto.ParseCustomMetricLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if first, dup := lines[name]; dup {
			return nil, fmt.Errorf("line %d: custom metric %q given twice (first on line %d)", n, name, first)
		}
		lines[name] = n
		list = append(list, proto.CustomMetric{Name: name, Value: v})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b proto.CustomMetric) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}
