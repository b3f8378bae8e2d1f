package builtin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/kilnhq/kiln/jobs"
)

// KindExec is the built-in kind that runs a program.
const KindExec = "exec"

// Defaults and limits of exec.
const (
	DefaultExecTimeout = time.Hour
	// DefaultExecGrace is how long a cancelled or timed-out program has between SIGTERM and SIGKILL.
	DefaultExecGrace = 10 * time.Second
	// ExecMaxLogLines is how many lines of output one attempt writes to the job's log.
	ExecMaxLogLines = 1000
	// execMaxLine is the longest line kept whole; a longer one is cut.
	execMaxLine = 4 << 10
	// execTailLines is how many of the last lines the result keeps.
	execTailLines = 20
)

// ExecArgs are the arguments of an exec job. Command, Env values and Stdin may refer to secrets
// as ${secret:NAME}.
type ExecArgs struct {
	Command []string          `json:"command" doc:"The program (an absolute path the server allows, links followed) and its arguments"`
	Dir     string            `json:"dir,omitempty" doc:"Working directory (absolute); default the server's"`
	Env     map[string]string `json:"env,omitempty" doc:"Environment variables: LANG, LANGUAGE, LC_*, TZ and the names the server allows (--exec-allow-env); added to the server's PATH, HOME, TMPDIR, USER, which a job can't set"`
	Stdin   string            `json:"stdin,omitempty" doc:"Text given to the program on standard input"`
	Timeout string            `json:"timeout,omitempty" doc:"A Go duration, e.g. 10m; default 1h"`
}

// ExecResult is the result of an exec job.
type ExecResult struct {
	ExitCode     int      `json:"exit_code"`
	DurationMS   float64  `json:"duration_ms"`
	Lines        int      `json:"lines"`                   // lines of output, stdout and stderr
	DroppedLines int      `json:"dropped_lines,omitempty"` // lines past ExecMaxLogLines, not logged
	Tail         []string `json:"tail,omitempty"`          // the last lines of output
}

// execWorker runs the program an exec job names.
type execWorker struct {
	policy  ExecPolicy
	grace   time.Duration
	secrets Secrets
}

func (w *execWorker) work(ctx context.Context, job *jobs.Job[ExecArgs]) error {
	a := job.Args
	plan, err := w.policy.check(&a)
	if err != nil {
		return jobs.Permanent(err)
	}
	rv := newRevealer(ctx, w.secrets)
	return rv.maskError(w.run(ctx, rv, &a, plan))
}

func (w *execWorker) run(ctx context.Context, rv *revealer, a *ExecArgs, plan execPlan) error {
	argv := make([]string, len(a.Command))
	for i, arg := range a.Command {
		v, err := rv.expand(arg, nil)
		if err != nil {
			return err
		}
		argv[i] = v
	}
	jobEnv := make(map[string]string, len(a.Env))
	for name, v := range a.Env {
		v, err := rv.expand(v, nil)
		if err != nil {
			return err
		}
		if err := checkEnvValue(name, v); err != nil {
			return jobs.Permanent(err)
		}
		jobEnv[name] = v
	}
	stdin, err := rv.expand(a.Stdin, nil)
	if err != nil {
		return err
	}
	jobCtx, timeout := ctx, plan.timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The program starts by the path the job gives, the name checked against the allow-list,
	// for a program may act on the name it is called by. Starting the file it leads to by its
	// real path made Debian's /usr/bin/pg_dump run as pg_wrapper, which runs its first
	// argument; setting only argv[0] doesn't help, for the kernel hands a script's interpreter
	// the path that was started, not argv[0]. Nothing was gained by the real path: whoever can
	// change a link between the check and the start can change where an entry leads, which the
	// check follows anyway; hence the README's directories writable by root only.
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = a.Dir, execEnv(jobEnv)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	// Every secret is revealed by now: the streams take the masker once, not at each line.
	out := newExecOutput(ctx, rv.currentMasker())
	defer out.close() // on every way out; after Wait, flush has closed it
	cmd.Stdout, cmd.Stderr = out.stream(""), out.stream("stderr: ")
	killGroup := inOwnProcessGroup(cmd)
	cmd.WaitDelay = w.grace

	// The log shows the command as written: secret references, not their values.
	jobs.Logf(ctx, "$ %s", shellQuote(a.Command))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		jobs.Logf(ctx, "could not start: %s", rv.mask(err.Error()))
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Op == "chdir" {
			return jobs.Permanent(fmt.Errorf("working directory %s: %v", a.Dir, pe.Err))
		}
		if errors.As(err, &pe) {
			return jobs.Permanent(fmt.Errorf("could not start %s: %v", a.Command[0], pe.Err))
		}
		return fmt.Errorf("could not start %s: %w", a.Command[0], err)
	}
	waitErr := cmd.Wait()
	killGroup() // whatever the program left running in its group ends with the job
	took := time.Since(start)
	out.flush()
	res := ExecResult{ExitCode: cmd.ProcessState.ExitCode(), DurationMS: float64(took.Microseconds()) / 1000}
	res.Lines, res.DroppedLines, res.Tail = out.summary()
	if res.DroppedLines > 0 {
		jobs.Logf(ctx, "… %d more lines of output not logged (at most %d are kept)", res.DroppedLines, ExecMaxLogLines)
	}
	status := describeExit(cmd, waitErr)
	jobs.Logf(ctx, "%s after %s", status, took.Round(time.Millisecond))
	if err := jobs.SetResult(ctx, res); err != nil {
		return err
	}
	switch {
	case jobCtx.Err() != nil: // the job was cancelled or timed out: the engine says which
		return fmt.Errorf("stopped: %s", status)
	case ctx.Err() != nil:
		return fmt.Errorf("no end within %s: %s", timeout, status)
	case res.ExitCode == 0 && errors.Is(waitErr, exec.ErrWaitDelay):
		return nil // done; what it left running was ended, and the log says so
	case waitErr != nil:
		tail := ""
		if len(res.Tail) > 0 {
			tail = ": " + res.Tail[len(res.Tail)-1]
		}
		return fmt.Errorf("%s%s", status, tail)
	}
	return nil
}

// describeExit says how the program ended.
func describeExit(cmd *exec.Cmd, waitErr error) string {
	ps := cmd.ProcessState
	switch {
	case ps == nil:
		return fmt.Sprintf("did not run: %v", waitErr)
	case ps.ExitCode() >= 0 && errors.Is(waitErr, exec.ErrWaitDelay):
		return fmt.Sprintf("exited with code %d; processes it left holding its output were ended", ps.ExitCode())
	case ps.ExitCode() >= 0:
		return fmt.Sprintf("exited with code %d", ps.ExitCode())
	default:
		return "ended by " + ps.String()
	}
}

// shellQuote writes argv as a shell would need it, for the log.
func shellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// execOutput turns a program's output into log lines, up to ExecMaxLogLines, masking secrets.
//
// The lines kept go to the job's log from a goroutine of their own, through a channel with room
// for all of them: os/exec's copying goroutines only cut and mask, and never wait for the
// database. When they waited, a program that wrote its output and exited while the machine was
// busy still had lines in the pipe when the grace period ended, and os/exec closed the pipe on
// them (TestExecOutputIsCapped kept 774 of 1,000 lines beside other packages' tests).
type execOutput struct {
	ctx     context.Context
	masker  *masker       // of the secrets the program was given; nil when none
	kept    chan string   // lines to log, in order; never full (ExecMaxLogLines of room)
	written chan struct{} // closed once every kept line is logged
	once    sync.Once

	mu      sync.Mutex
	lines   int
	dropped int
	tail    []string
	streams []*lineStream
}

func newExecOutput(ctx context.Context, m *masker) *execOutput {
	o := &execOutput{ctx: ctx, masker: m, kept: make(chan string, ExecMaxLogLines), written: make(chan struct{})}
	go func() {
		defer close(o.written)
		// Whatever waits is written in one transaction: a round trip per line made a program's
		// 1,000 lines 1,000 writes in a row. Written with the run's context cut loose: output
		// of a cancelled program still lands.
		var batch []string
		for text := range o.kept {
			batch = append(batch[:0], text)
		waiting:
			for {
				select {
				case text, ok := <-o.kept:
					if !ok {
						break waiting
					}
					batch = append(batch, text)
				default:
					break waiting
				}
			}
			jobs.LogLines(context.WithoutCancel(o.ctx), batch)
		}
	}()
	return o
}

// close ends the logging of lines, once all kept are logged. No stream may write after it.
func (o *execOutput) close() {
	o.once.Do(func() { close(o.kept) })
	<-o.written
}

func (o *execOutput) stream(prefix string) *lineStream {
	s := &lineStream{out: o, prefix: prefix, window: lineWindow{m: o.masker}}
	o.streams = append(o.streams, s)
	return s
}

// line takes a line of output, masked and cut already.
func (o *execOutput) line(prefix, text string) {
	text = prefix + strings.ToValidUTF8(text, "\uFFFD")
	o.mu.Lock()
	o.lines++
	o.tail = append(o.tail, text)
	if len(o.tail) > execTailLines {
		o.tail = o.tail[1:]
	}
	if o.lines <= ExecMaxLogLines {
		o.kept <- text // under mu, so lines keep their order; there is room for every kept line
	} else {
		o.dropped++
	}
	o.mu.Unlock()
}

// flush logs what the streams hold of an unfinished last line, then waits until every kept
// line is in the job's log. Call it after Wait: no stream writes any more.
func (o *execOutput) flush() {
	for _, s := range o.streams {
		s.flush()
	}
	o.close()
}

func (o *execOutput) summary() (lines, dropped int, tail []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lines, o.dropped, append([]string(nil), o.tail...)
}

// lineStream is one of the program's outputs, cut into lines, masked through a window of
// them (a secret may be spread over several), and cut to execMaxLine.
type lineStream struct {
	out    *execOutput
	prefix string
	buf    []byte
	window lineWindow
	// skipping: the line being read was taken already, cut; the rest of it is dropped but for
	// its last bytes, kept in buf to recognise a secret that goes on into the next line.
	skipping bool
}

// Write is called by os/exec's copying goroutine, one per stream.
func (s *lineStream) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.buf = append(s.buf, p...)
			break
		}
		s.buf = append(s.buf, p[:i]...)
		s.push(heldLine{text: strings.TrimRight(string(s.buf), "\r"), hidden: s.skipping})
		s.buf, s.skipping, p = s.buf[:0], false, p[i+1:]
	}
	lookahead := s.window.m.lookahead()
	switch {
	case s.skipping && len(s.buf) > 2*lookahead:
		s.buf = append(s.buf[:0], s.buf[len(s.buf)-lookahead:]...)
	case !s.skipping && len(s.buf) > execMaxLine+lookahead:
		// A very long line: once what is shown of it (and enough past that to see a secret
		// whole) is here, take it cut, and keep only the end of the rest.
		s.push(heldLine{text: string(s.buf), cut: true})
		s.buf, s.skipping = s.buf[:0], true
	}
	return n, nil
}

func (s *lineStream) push(l heldLine) {
	for _, text := range s.window.push(l) {
		s.out.line(s.prefix, text)
	}
}

func (s *lineStream) flush() {
	if len(s.buf) > 0 {
		s.push(heldLine{text: strings.TrimRight(string(s.buf), "\r"), hidden: s.skipping})
		s.buf = nil
	}
	for _, text := range s.window.flush() {
		s.out.line(s.prefix, text)
	}
}
