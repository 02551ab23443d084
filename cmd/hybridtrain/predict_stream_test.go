package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// streamObjects runs predict --stream of model over input and decodes its output lines.
func streamObjects(t *testing.T, model, input string) []map[string]any {
	t.Helper()
	a := realApp(t)
	a.stdin = strings.NewReader(input)
	if code := a.run("predict", "--model", model, "--stream"); code != exitOK {
		t.Fatalf("predict --stream: exit %d\n%s", code, a.err.String())
	}
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(a.out.String(), "\n"), "\n") {
		var o map[string]any
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("output line %d %q: %v", i+1, line, err)
		}
		out = append(out, o)
	}
	return out
}

func readBars(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("bars.csv")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestPredictStream runs predict --stream on checkpoints of each kind (predictCheckpoints,
// made once for the subtests), in process and as a process behind pipes.
func TestPredictStream(t *testing.T) {
	inTempDir(t)
	ckpts := predictCheckpoints(t)
	t.Run("matches data", func(t *testing.T) { testPredictStreamMatchesData(t, ckpts) })
	t.Run("bad lines", func(t *testing.T) { testPredictStreamBadLines(t, ckpts) })
	t.Run("input errors", func(t *testing.T) { testPredictStreamInputErrors(t, ckpts) })
	t.Run("pipe", func(t *testing.T) { testPredictStreamPipe(t, ckpts) })
	t.Run("signals", func(t *testing.T) { testPredictStreamSignals(t, ckpts) })
}

// testPredictStreamMatchesData: streaming bars.csv through predict --stream gives, line for
// line, the rows of predict --data on it (the same decisions, probabilities, values,
// reasons, accounts and trades), for a checkpoint of each phase and an imported SB3 model.
func testPredictStreamMatchesData(t *testing.T, ckpts map[string]string) {
	lines := readBars(t)
	for _, name := range []string{"phase3", "phase2", "sb3"} {
		t.Run(name, func(t *testing.T) {
			want := predictRows(t, "--model", ckpts[name], "--data", "bars.csv")
			got := streamObjects(t, ckpts[name], strings.Join(lines, "\n")+"\n")
			if len(got) != len(want) {
				t.Fatalf("%d lines, --data gave %d rows", len(got), len(want))
			}
			for i := range want {
				if got[i]["line"] != float64(i+2) {
					t.Fatalf("output %d answers line %v, want %d", i+1, got[i]["line"], i+2)
				}
				delete(got[i], "line")
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("row %d differs:\nstream %v\ndata   %v", i+1, got[i], want[i])
				}
			}
		})
	}
}

// testPredictStreamBadLines: a malformed line, a time going backwards, a duplicate bar, a
// short row and a CSV syntax error each give {"error": ..., "line": N} naming the line and
// column as data validate would, the bar is skipped, and the stream goes on: every other
// line is answered exactly as in the stream without the bad lines. A blank line gives
// nothing; the end of input exits 0.
func testPredictStreamBadLines(t *testing.T, ckpts map[string]string) {
	lines := readBars(t)[:200]
	clean := streamObjects(t, ckpts["phase3"], strings.Join(lines, "\n")+"\n")

	var input []string
	bad := map[int]string{} // output line -> the error it must give
	for i, l := range lines {
		input = append(input, l)
		switch i {
		case 70:
			input = append(input, strings.Replace(lines[i+1], ",", ",abc", 1)[:0]+strings.SplitN(lines[i+1], ",", 2)[0]+",abc,1,1,1,1")
			bad[len(input)] = fmt.Sprintf(`stdin:%d:2: open "abc": not a number`, len(input))
		case 80:
			input = append(input, lines[75]) // back in time
			bad[len(input)] = fmt.Sprintf("stdin:%d:1: time not strictly increasing: timestamp %q is before line", len(input), strings.SplitN(lines[75], ",", 2)[0])
			input = append(input, l) // the same bar again
			bad[len(input)] = fmt.Sprintf("stdin:%d:1: time not strictly increasing: timestamp %q is the same as line", len(input), strings.SplitN(l, ",", 2)[0])
		case 90:
			input = append(input, strings.Join(strings.Split(lines[i+1], ",")[:4], ","))
			bad[len(input)] = fmt.Sprintf("stdin:%d:5: too few fields: close is field 5, the row has 4", len(input))
			input = append(input, `2024-01-02T16:00:00Z,1"0,1,1,1,1`)
			bad[len(input)] = fmt.Sprintf(`stdin:%d: csv syntax error: bare " in non-quoted-field`, len(input))
			input = append(input, "")
		}
	}
	got := streamObjects(t, ckpts["phase3"], strings.Join(input, "\n")+"\n")
	var rows []map[string]any
	for _, o := range got {
		line := int(o["line"].(float64))
		if want, ok := bad[line]; ok {
			if msg, _ := o["error"].(string); !strings.HasPrefix(msg, want) || len(o) != 2 {
				t.Errorf("line %d: %v, want {error: %q..., line}", line, o, want)
			}
			delete(bad, line)
			continue
		}
		if o["error"] != nil {
			t.Errorf("line %d: unexpected %v", line, o)
		}
		delete(o, "line")
		rows = append(rows, o)
	}
	if len(bad) > 0 {
		t.Errorf("bad lines without an error line: %v", bad)
	}
	for i := range clean {
		delete(clean[i], "line")
	}
	if !reflect.DeepEqual(rows, clean) {
		t.Errorf("the good lines' answers differ from the clean stream's (%d vs %d)", len(rows), len(clean))
	}
}

// testPredictStreamInputErrors: input without a header, or with a header that lacks a
// column, exits 3 naming stdin.
func testPredictStreamInputErrors(t *testing.T, ckpts map[string]string) {
	for _, tc := range []struct{ input, want string }{
		{"", "stdin: no bars: empty input"},
		{"timestamp,open,high,low,volume\n", "stdin:1: missing column: close"},
	} {
		a := realApp(t)
		a.stdin = strings.NewReader(tc.input)
		if code := a.run("predict", "--model", ckpts["phase3"], "--stream"); code != exitData || !strings.Contains(a.err.String(), tc.want) {
			t.Errorf("input %q: exit %d, stderr %q; want 3 and %q", tc.input, code, a.err.String(), tc.want)
		}
	}
}

// streamProcess is a predict --stream process (the test binary acting as hybridtrain).
type streamProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *strings.Builder
}

func startStream(t *testing.T, model string) *streamProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "predict", "--model", model, "--stream")
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &streamProcess{cmd: cmd, stdin: stdin, lines: make(chan string), stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	return p
}

// send writes one line to the process.
func (p *streamProcess) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// answer waits for the process's next output line; the bar's answer must come while no
// further input is written.
func (p *streamProcess) answer(t *testing.T) map[string]any {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatalf("stdout closed; stderr: %s", p.stderr)
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		return o
	case <-time.After(20 * time.Second):
		t.Fatalf("no answer within 20 s; stderr: %s", p.stderr)
	}
	return nil
}

// exitCode waits for the process to end and returns its exit code.
func (p *streamProcess) exitCode(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		t.Fatalf("the process did not end; stderr: %s", p.stderr)
	}
	return -1
}

// testPredictStreamPipe runs predict --stream as a process behind pipes and writes bar by
// bar, waiting for each bar's answer before writing the next: each line is answered at
// once (nothing waits in a buffer for more input). A bad line is answered with an error
// and the stream goes on; the end of input exits 0.
func testPredictStreamPipe(t *testing.T, ckpts map[string]string) {
	lines := readBars(t)[:70] // the header, warm-up, the first decisions from 09:29
	p := startStream(t, ckpts["phase3"])
	p.send(t, lines[0])
	decided := 0
	for i, l := range lines[1:] {
		p.send(t, l)
		o := p.answer(t)
		if o["line"] != float64(i+2) || o["time"] == nil {
			t.Fatalf("bar %d: answer %v", i+2, o)
		}
		if o["action"] != nil {
			decided++
		}
	}
	if decided == 0 {
		t.Error("no decision in the first 69 bars: the test wants some")
	}
	p.send(t, "2024-01-02T15:40:00Z,x,1,1,1,1")
	if o := p.answer(t); o["error"] == nil || o["line"] != float64(len(lines)+1) {
		t.Errorf("bad line: %v", o)
	}
	p.send(t, strings.Replace(lines[1], "2024-01-02T13:30", "2024-01-02T14:39", 1)) // the next minute
	if o := p.answer(t); o["error"] != nil || o["time"] != "2024-01-02T09:39:00-05:00" {
		t.Errorf("after the bad line: %v", o)
	}
	p.stdin.Close()
	if code := p.exitCode(t); code != exitOK {
		t.Errorf("end of input: exit %d, want 0; stderr: %s", code, p.stderr)
	}
}

// testPredictStreamSignals: SIGINT or SIGTERM while the stream waits for a bar exits 130 at
// once, after the lines already given were answered.
func testPredictStreamSignals(t *testing.T, ckpts map[string]string) {
	lines := readBars(t)[:4]
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startStream(t, ckpts["phase3"])
			for _, l := range lines {
				p.send(t, l)
			}
			for range lines[1:] {
				p.answer(t)
			}
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.exitCode(t); code != exitInterrupted {
				t.Errorf("exit %d, want 130; stderr: %s", code, p.stderr)
			}
			if !strings.Contains(p.stderr.String(), "interrupted") {
				t.Errorf("stderr %q does not say interrupted", p.stderr)
			}
		})
	}
}
