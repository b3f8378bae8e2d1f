package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/pages"
)

// The what-to-run part of the New job and recurring job forms: a kind, its arguments and the
// options every job has, read from the form into the engine's terms and back.

// formMaxRows bounds the rows of a form's lists (headers, arguments, environment).
const formMaxRows = 100

// readJobForm reads the kind, its arguments and the options as typed.
func readJobForm(c echo.Context) pages.JobFormView {
	f, _ := c.FormParams()
	v := pages.JobFormView{
		Kind: strings.TrimSpace(f.Get("kind")), AllowUnknownKind: f.Get("allow_unknown_kind") != "",
		// http.request
		Method: f.Get("http_method"), URL: strings.TrimSpace(f.Get("http_url")), Body: f.Get("http_body"), BodyType: f.Get("http_body_type"),
		HTTPTimeout: strings.TrimSpace(f.Get("http_timeout")), Expect: strings.TrimSpace(f.Get("http_expect")),
		MaxBody: strings.TrimSpace(f.Get("http_max_body")), Follow: f.Get("http_follow") != "",
		Headers: kvRows(f["http_header_name"], f["http_header_value"]),
		// exec
		Program: strings.TrimSpace(f.Get("exec_program")), Dir: strings.TrimSpace(f.Get("exec_dir")), Stdin: f.Get("exec_stdin"),
		ExecTimeout: strings.TrimSpace(f.Get("exec_timeout")), Env: kvRows(f["exec_env_name"], f["exec_env_value"]),
		// other kinds
		ArgsJSON: f.Get("args"),
		// options
		Queue: strings.TrimSpace(f.Get("queue")), Priority: strings.TrimSpace(f.Get("priority")),
		MaxAttempts: strings.TrimSpace(f.Get("max_attempts")), Timeout: strings.TrimSpace(f.Get("timeout")), Tags: f.Get("tags"),
		Errors: map[string]string{},
	}
	args := f["exec_arg"]
	for len(args) > 0 && args[len(args)-1] == "" { // the blank rows left at the end, not empty arguments
		args = args[:len(args)-1]
	}
	// More rows than the form holds are refused, not dropped: the job would lack them. The form
	// comes back with the first formMaxRows, saying so.
	tooMany := func(n int, what string) string {
		return fmt.Sprintf("At most %d %s; %d were sent, and only the first %d are kept here.", formMaxRows, what, n, formMaxRows)
	}
	if n := len(v.Headers); n > formMaxRows {
		v.Errors["http_header"] = tooMany(n, "headers")
		v.Headers = v.Headers[:formMaxRows]
	}
	if n := len(v.Env); n > formMaxRows {
		v.Errors["exec_env"] = tooMany(n, "variables")
		v.Env = v.Env[:formMaxRows]
	}
	if n := len(args); n > formMaxRows {
		v.Errors["exec_program"] = tooMany(n, "arguments")
		args = args[:formMaxRows]
	}
	v.Args = args
	return v
}

// kvRows pairs names with values, dropping rows left blank; readJobForm bounds how many.
func kvRows(names, values []string) []pages.KV {
	var out []pages.KV
	for i, n := range names {
		val := ""
		if i < len(values) {
			val = values[i]
		}
		if strings.TrimSpace(n) == "" && val == "" {
			continue
		}
		out = append(out, pages.KV{Name: strings.TrimSpace(n), Value: val})
	}
	return out
}

// jobArgs builds the arguments of v's kind, or says what is wrong in v.Errors.
func (s *Server) jobArgs(v *pages.JobFormView) json.RawMessage {
	switch v.Kind {
	case "":
		v.Errors["kind"] = "Choose what the job does."
		return nil
	case pages.KindHTTP:
		return httpArgs(v)
	case pages.KindExec:
		return execArgs(v)
	}
	if err := models.KindName.Check(v.Kind); err != nil {
		v.Errors["kind"] = models.ErrorMessage(err)
		return nil
	}
	raw := strings.TrimSpace(v.ArgsJSON)
	if raw == "" {
		raw = "{}"
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		v.Errors["args"] = "The arguments must be a JSON object, such as {\"to\": \"ada@example.com\"}: " + err.Error()
		return nil
	}
	if t := s.kindArgsType(v.Kind); t != nil { // the kind says what it takes: hold the JSON to it
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(reflect.New(t).Interface()); err != nil {
			v.Errors["args"] = fmt.Sprintf("These arguments don't fit %s: %s", v.Kind, strings.TrimPrefix(err.Error(), "json: "))
			return nil
		}
	}
	return json.RawMessage(raw)
}

func (s *Server) kindArgsType(kind string) reflect.Type {
	for _, k := range s.engine.Kinds() {
		if k.Name == kind {
			return k.Args
		}
	}
	return nil
}

func httpArgs(v *pages.JobFormView) json.RawMessage {
	a := builtin.HTTPRequestArgs{Method: v.Method, URL: v.URL, Timeout: v.HTTPTimeout}
	for _, h := range v.Headers {
		if h.Name == "" {
			v.Errors["http_header"] = "Every header needs a name."
			return nil
		}
		if a.Headers == nil {
			a.Headers = map[string]string{}
		}
		if _, dup := a.Headers[h.Name]; dup {
			v.Errors["http_header"] = fmt.Sprintf("The header %s is given twice.", h.Name)
			return nil
		}
		a.Headers[h.Name] = h.Value
	}
	if v.Body != "" {
		if v.BodyType == "json" {
			if !json.Valid([]byte(v.Body)) {
				v.Errors["http_body"] = "This is not valid JSON; choose text to send it as written."
				return nil
			}
			if strings.HasPrefix(strings.TrimSpace(v.Body), `"`) {
				v.Errors["http_body"] = "A JSON body is an object, an array or a number; to send a string, choose text."
				return nil
			}
			var compact bytes.Buffer
			_ = json.Compact(&compact, []byte(v.Body))
			a.Body = compact.Bytes()
		} else {
			a.Body, _ = json.Marshal(v.Body)
		}
	}
	if v.Expect != "" {
		for _, part := range strings.FieldsFunc(v.Expect, func(r rune) bool { return r == ',' || r == ' ' }) {
			a.Expect = append(a.Expect, part)
		}
	}
	if v.MaxBody != "" {
		n, err := strconv.Atoi(v.MaxBody)
		if err != nil || n <= 0 {
			v.Errors["http_max_body"] = "A number of bytes, such as 65536."
			return nil
		}
		a.MaxBody = n
	}
	follow := v.Follow
	a.FollowRedirects = &follow
	raw, _ := json.Marshal(a)
	return raw
}

func execArgs(v *pages.JobFormView) json.RawMessage {
	a := builtin.ExecArgs{Command: append([]string{v.Program}, v.Args...), Dir: v.Dir, Stdin: v.Stdin, Timeout: v.ExecTimeout}
	for _, e := range v.Env {
		if e.Name == "" {
			v.Errors["exec_env"] = "Every variable needs a name."
			return nil
		}
		if a.Env == nil {
			a.Env = map[string]string{}
		}
		if _, dup := a.Env[e.Name]; dup {
			v.Errors["exec_env"] = fmt.Sprintf("The variable %s is given twice.", e.Name)
			return nil
		}
		a.Env[e.Name] = e.Value
	}
	raw, _ := json.Marshal(a)
	return raw
}

// jobOptions reads the options every job has; what is wrong goes to v.Errors.
func jobFormOptions(v *pages.JobFormView) []jobs.Option {
	var opts []jobs.Option
	if v.Queue != "" {
		if err := models.QueueName.Check(v.Queue); err != nil {
			v.Errors["queue"] = models.ErrorMessage(err)
		} else {
			opts = append(opts, jobs.Queue(v.Queue))
		}
	}
	if v.Priority != "" {
		p, err := strconv.Atoi(v.Priority)
		if err != nil || p < -1000 || p > 1000 {
			v.Errors["priority"] = "A whole number from -1000 to 1000."
		} else {
			opts = append(opts, jobs.Priority(p))
		}
	}
	if v.MaxAttempts != "" {
		n, err := strconv.Atoi(v.MaxAttempts)
		if err != nil || n < 1 || n > 1000 {
			v.Errors["max_attempts"] = "A whole number from 1 to 1000."
		} else {
			opts = append(opts, jobs.MaxAttempts(n))
		}
	}
	if v.Timeout != "" {
		d, err := time.ParseDuration(v.Timeout)
		if err != nil || d <= 0 {
			v.Errors["timeout"] = "A duration such as 90s, 5m or 2h."
		} else {
			opts = append(opts, jobs.Timeout(d))
		}
	}
	return opts
}

// jobFormTags reads the tags field; what is wrong goes to v.Errors.
func jobFormTags(v *pages.JobFormView) []string {
	var tags []string
	for _, t := range strings.Split(v.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	var probe models.Job
	if err := probe.SetTags(tags); err != nil {
		v.Errors["tags"] = models.ErrorMessage(err)
		return nil
	}
	return tags
}

// argsFieldErrors puts the engine's complaints about arguments (fields "args.url"...) next to
// the form's fields.
func argsFieldErrors(v *pages.JobFormView, err error) bool {
	fields := models.FieldErrors(err)
	if fields == nil {
		return false
	}
	httpFields := map[string]string{"url": "http_url", "method": "http_method", "headers": "http_header", "body": "http_body",
		"timeout": "http_timeout", "expect": "http_expect", "max_body": "http_max_body", "follow_redirects": "http_follow"}
	execFields := map[string]string{"command": "exec_program", "dir": "exec_dir", "env": "exec_env", "stdin": "exec_stdin", "timeout": "exec_timeout"}
	for key, msg := range fields {
		arg, isArg := strings.CutPrefix(key, "args.")
		name := "args"
		switch {
		case !isArg && key != "args":
			name = key // not an argument: the name, an option...
		case v.Kind == pages.KindHTTP:
			name = httpFields[arg]
		case v.Kind == pages.KindExec:
			name = execFields[arg]
		}
		if name == "" || (name == "args" && (v.Kind == pages.KindHTTP || v.Kind == pages.KindExec)) {
			name = "kind" // no field of its own: shown under the kind
		}
		v.Errors[name] = msg
	}
	return true
}

// fillJobForm completes a form view for display: the kinds and queues to choose from, the
// kind's schema, blank rows to type into.
func (s *Server) fillJobForm(c echo.Context, v *pages.JobFormView) {
	if t := s.kindArgsType(v.Kind); t != nil && v.Kind != pages.KindHTTP && v.Kind != pages.KindExec {
		if b, err := json.MarshalIndent(huma.SchemaFromType(s.argsRegistry, t), "", "  "); err == nil {
			v.ArgsSchema = string(b)
		}
	}
	if known, err := s.engine.KnownKinds(c.Request().Context()); err == nil { // else this server's own
		v.Kinds = known
	} else {
		for _, k := range s.engine.Kinds() {
			v.Kinds = append(v.Kinds, k.Name)
		}
	}
	if !may(c, authz.JobsEnqueueCode) { // offer only the kinds the role may enqueue
		v.Kinds = slices.DeleteFunc(v.Kinds, func(k string) bool { return authz.EnqueueAction(k, nil) == authz.JobsEnqueueCode })
	}
	if v.Kind != "" && !slices.Contains(v.Kinds, v.Kind) {
		v.Kinds = append(v.Kinds, v.Kind) // keep the choice, and offer to allow it
		v.KindUnknown = true
	}
	if _, queues, err := s.suggest.get(c.Request().Context(), s.store.JobQueries); err == nil {
		v.Queues = queues
	}
	v.ExecAllowed, v.ExecAllowedEnv, v.ExecBaseEnv = s.cfg.Exec.Allow, s.cfg.Exec.AllowedEnv(), builtin.ExecBaseEnv()
	if v.Method == "" {
		v.Method = "GET"
	}
	if v.BodyType == "" {
		v.BodyType = "text"
	}
	v.Headers = append(v.Headers, pages.KV{})
	v.Env = append(v.Env, pages.KV{})
	v.Args = append(v.Args, "")
	if v.Errors == nil {
		v.Errors = map[string]string{}
	}
}

// newJobForm is a blank form for kind.
// defaultFormKind is the kind a blank form starts with: http.request, or for a role that may
// not enqueue it, the first kind this server works that the role may.
func (s *Server) defaultFormKind(c echo.Context) string {
	if may(c, authz.JobsEnqueueCode) {
		return pages.KindHTTP
	}
	for _, k := range s.engine.Kinds() {
		if authz.EnqueueAction(k.Name, nil) == authz.JobsEnqueue {
			return k.Name
		}
	}
	return ""
}

func newJobForm(kind string) pages.JobFormView {
	return pages.JobFormView{Kind: kind, Follow: true, Errors: map[string]string{}}
}

// jobFormFrom fills a form from a stored job's (or recurring job's) kind, arguments and
// options: for Duplicate, and to edit a recurring job. Arguments that would take more than
// blockBudget of the page, or a list of more than formMaxRows rows (sending the form would
// keep only those), are left out, and the form offers argsURL instead.
func jobFormFrom(kind, args, argsURL, queue string, priority, maxAttempts int, timeout time.Duration, tags []string) pages.JobFormView {
	v := newJobForm(kind)
	v.Queue, v.Priority, v.MaxAttempts = queue, strconv.Itoa(priority), strconv.Itoa(maxAttempts)
	if timeout > 0 {
		v.Timeout = timeout.String()
	}
	v.Tags = strings.Join(tags, ", ")
	if whole := textBlock(args, argsURL); whole.Cut != nil {
		v.ArgsLeftOut = &pages.ArgsLeftOut{Why: "are " + components.FormatBytes(whole.Cut.Total) + ", more than this form holds", RawURL: argsURL, APILimit: bodyLimitText}
		return v
	}
	switch kind {
	case pages.KindHTTP:
		var a builtin.HTTPRequestArgs
		if json.Unmarshal([]byte(args), &a) == nil {
			if tooManyRows(&v, len(a.Headers), "headers", argsURL) {
				return v
			}
			v.Method, v.URL, v.HTTPTimeout, v.Expect = a.Method, a.URL, a.Timeout, strings.Join(a.Expect, ", ")
			if a.MaxBody > 0 {
				v.MaxBody = strconv.Itoa(a.MaxBody)
			}
			if a.FollowRedirects != nil {
				v.Follow = *a.FollowRedirects
			}
			names := make([]string, 0, len(a.Headers))
			for n := range a.Headers {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				v.Headers = append(v.Headers, pages.KV{Name: n, Value: a.Headers[n]})
			}
			var text string
			if len(a.Body) > 0 && json.Unmarshal(a.Body, &text) == nil {
				v.Body, v.BodyType = text, "text"
			} else if len(a.Body) > 0 {
				v.Body, v.BodyType = formJSON(string(a.Body)), "json"
			}
			break
		}
		v.ArgsJSON = args
	case pages.KindExec:
		var a builtin.ExecArgs
		if json.Unmarshal([]byte(args), &a) == nil {
			if tooManyRows(&v, len(a.Command)-1, "arguments", argsURL) || tooManyRows(&v, len(a.Env), "environment variables", argsURL) {
				return v
			}
			if len(a.Command) > 0 {
				v.Program, v.Args = a.Command[0], a.Command[1:]
			}
			v.Dir, v.Stdin, v.ExecTimeout = a.Dir, a.Stdin, a.Timeout
			names := make([]string, 0, len(a.Env))
			for n := range a.Env {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				v.Env = append(v.Env, pages.KV{Name: n, Value: a.Env[n]})
			}
		}
	default:
		v.ArgsJSON = formJSON(args)
	}
	return v
}

// tooManyRows reports whether a list of the arguments copied into v has more than
// formMaxRows rows, and if so leaves the arguments out of v, saying so.
func tooManyRows(v *pages.JobFormView, rows int, what, argsURL string) bool {
	if rows <= formMaxRows {
		return false
	}
	v.ArgsLeftOut = &pages.ArgsLeftOut{Why: fmt.Sprintf("hold %d %s, more than the %d this form holds", rows, what, formMaxRows), RawURL: argsURL, APILimit: bodyLimitText}
	return true
}

// formJSON is stored JSON for a form's field: indented when that fits blockBudget, else as
// stored (which the caller found fits).
func formJSON(raw string) string {
	if b := jsonBlock(raw, ""); b.Cut == nil {
		return b.Text
	}
	return raw
}
