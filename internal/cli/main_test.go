package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// TestEndToEnd runs the real program (Main.Run) on a random port with a temporary data
// directory, creates and lists a task over HTTP, then shuts it down.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "data", "kiln.db"), "--demo",
		"--sweep-every", "@every 1s", "--poll-interval", "100ms", "--metrics-addr", "127.0.0.1:0"}, io.Discard)
	require.NoError(t, err)
	var logs bytes.Buffer
	m := NewMain(cfg, &logs)
	require.NoError(t, m.Run(context.Background()))
	base := "http://" + m.Web.Addr()

	// --metrics-addr serves the metrics without auth, for a scraper on a private network.
	mresp, err := http.Get("http://" + m.MetricsAddr + "/metrics")
	require.NoError(t, err)
	metricsBody, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	require.Equal(t, http.StatusOK, mresp.StatusCode)
	require.Contains(t, string(metricsBody), `kiln_workers{queue="default"} 10`)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/tasks/new")
	require.NoError(t, err)
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	token, _ := doc.Find(`input[name="_csrf"]`).Attr("value")
	require.NotEmpty(t, token)

	resp, err = client.PostForm(base+"/tasks", url.Values{
		"_csrf": {token}, "title": {"End-to-end task"}, "due_at": {"2030-01-02T03:04"}, "tz": {"Europe/Paris"},
	})
	require.NoError(t, err)
	doc, err = goquery.NewDocumentFromReader(resp.Body) // the redirect was followed to the list
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "/", resp.Request.URL.Path)
	titles := doc.Find(`[data-testid="task-title"]`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	require.Contains(t, titles, "End-to-end task")
	require.Len(t, titles, 11, "10 demo tasks and ours")

	// An overdue task is completed by the sweeper, a recurring job of the engine.
	resp, err = client.PostForm(base+"/tasks", url.Values{
		"_csrf": {token}, "title": {"Already late"}, "due_at": {"2020-01-02T03:04"}, "tz": {"UTC"},
	})
	require.NoError(t, err)
	resp.Body.Close()
	require.Eventually(t, func() bool {
		resp, err := client.Get(base + "/?status=completed")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		return err == nil && strings.Contains(doc.Find(`[data-testid="task-completed"]`).Text(), "by the overdue sweeper")
	}, 20*time.Second, 100*time.Millisecond)
	resp, err = client.Get(base + "/dashboard/jobs?state=succeeded&kind=tasks.sweep_overdue")
	require.NoError(t, err)
	doc, err = goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.NotEmpty(t, doc.Find(`[data-testid="job-row"]`).Nodes, "the sweep runs are in the job history")

	resp, err = client.Get(base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, m.Close())
	_, err = net.DialTimeout("tcp", m.Web.Addr(), time.Second)
	require.Error(t, err, "nothing listens after shutdown")
	require.FileExists(t, filepath.Join(dir, "data", "kiln.db"), "the data directory and database were created")
	require.NotContains(t, logs.String(), "level=ERROR")

	// The data survives a restart.
	store, err := models.Open(context.Background(), filepath.Join(dir, "data", "kiln.db"), nil)
	require.NoError(t, err)
	defer store.Close()
	counts, err := store.Tasks.CountTasks(context.Background(), time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 12, counts.All, "10 demo tasks and the two created here")
}

func TestParseConfig(t *testing.T) {
	t.Setenv("KILN_ADDR", "127.0.0.1:9999")
	t.Setenv("KILN_LOG_LEVEL", "debug")
	cfg, err := parseConfig([]string{"--db", "x.db"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9999", cfg.Web.Addr, "environment overrides the default")
	require.Equal(t, "x.db", cfg.DB)
	require.Equal(t, "debug", strings.ToLower(cfg.LogLevel.String()))

	cfg, err = parseConfig([]string{"--addr", "127.0.0.1:7000"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7000", cfg.Web.Addr, "a flag beats the environment")
	require.Equal(t, "data/kiln.db", cfg.DB)
	require.Equal(t, 15*time.Second, cfg.Web.ShutdownTimeout)

	require.Equal(t, "default=10", jobs.FormatQueues(cfg.Jobs.Queues))
	cfg, err = parseConfig([]string{"--queues", "critical=4,default=2", "--sweep-every", "*/5 * * * *"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "critical=4,default=2", jobs.FormatQueues(cfg.Jobs.Queues))
	require.Equal(t, "*/5 * * * *", cfg.Tasks.SweepEvery)
	cfg, err = parseConfig([]string{"--sweep-every", "1m"}, io.Discard)
	require.NoError(t, err, "a bare duration is @every it")
	require.Equal(t, "1m", cfg.Tasks.SweepEvery)

	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"--shutdown-timeout", "0s"}, {"--db", ""}, {"stray"}, {"--nope"},
		{"--queues", "default"}, {"--queues", "a=0"}, {"--sweep-every", "every minute"}, {"--retention", "1s"}, {"--poll-interval", "0s"},
		{"--max-rescues", "-1"}, {"--trusted-proxies", "10.0.0.0/33"}, {"--allowed-hosts", "https://kiln.example.com"},
		{"--public-url", "kiln.example.com"}, {"--public-url", "ftp://kiln.example.com"}, {"--audit-retention", "10m"}} {
		_, err := parseConfig(args, io.Discard)
		require.Error(t, err, "%v", args)
	}

	// A short secret stops Kiln before it starts, saying how to make a good one, never echoing it.
	t.Setenv("KILN_SECRET", "hunter2")
	_, err = parseConfig(nil, io.Discard)
	require.ErrorContains(t, err, "openssl rand -base64 32")
	require.NotContains(t, err.Error(), "hunter2")
	t.Setenv("KILN_SECRET", strings.Repeat("s", 32)) // long enough, not random
	_, err = parseConfig(nil, io.Discard)
	require.ErrorContains(t, err, "not random: it is made of one byte, repeated")
	require.ErrorContains(t, err, "openssl rand -base64 32")
	t.Setenv("KILN_SECRET", "")

	// Security flags and the rescue limit, with their defaults.
	require.Equal(t, []string{"127.0.0.0/8", "::1/128"}, cfg.Web.TrustedProxies)
	require.Empty(t, cfg.Web.AllowedHosts)
	require.Equal(t, 3, cfg.Jobs.MaxRescues)
	t.Setenv("KILN_ALLOWED_HOSTS", "kiln.example.com, *.internal.example")
	cfg, err = parseConfig([]string{"--trusted-proxies", "10.0.0.0/8,192.0.2.7", "--max-rescues", "0"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"kiln.example.com", "*.internal.example"}, cfg.Web.AllowedHosts)
	require.Equal(t, []string{"10.0.0.0/8", "192.0.2.7"}, cfg.Web.TrustedProxies)
	require.Negative(t, cfg.Jobs.MaxRescues, "0 means no rescue at all, which the engine reads from a negative")

	// The audit trail's retention: a year, apart from the jobs'.
	require.Equal(t, 365*24*time.Hour, cfg.Audit.Retention)
	t.Setenv("KILN_AUDIT_RETENTION", "2160h")
	cfg, err = parseConfig(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 90*24*time.Hour, cfg.Audit.Retention)
	t.Setenv("KILN_AUDIT_RETENTION", "")

	// Alerts' links: --public-url or KILN_PUBLIC_URL, an absolute http(s) URL.
	require.Empty(t, cfg.Alerts.PublicURL)
	t.Setenv("KILN_PUBLIC_URL", "https://kiln.example.com")
	cfg, err = parseConfig(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "https://kiln.example.com", cfg.Alerts.PublicURL)
	t.Setenv("KILN_PUBLIC_URL", "")

	var help bytes.Buffer
	require.Equal(t, 0, Run(context.Background(), []string{"--help"}, nil, io.Discard, &help))
	for _, want := range []string{"--addr", "KILN_ADDR", "KILN_DB", "KILN_LOG_LEVEL", "KILN_DEMO", "default 127.0.0.1:8080", "KILN_QUEUES", "KILN_SWEEP_EVERY", "KILN_RETENTION"} {
		require.Contains(t, help.String(), want)
	}
}

// The exec allow-lists come from flags or KILN_EXEC_ALLOW and KILN_EXEC_ALLOW_ENV; a variable
// Kiln sets for every program can't be handed to jobs, and Kiln says so before it starts.
func TestParseConfigExec(t *testing.T) {
	t.Setenv("KILN_EXEC_ALLOW", "/usr/local/bin/backup-db, /opt/jobs/*")
	t.Setenv("KILN_EXEC_ALLOW_ENV", "BACKUP_TARGET, PGPASSWORD")
	cfg, err := parseConfig(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"/usr/local/bin/backup-db", "/opt/jobs/*"}, cfg.Builtins.ExecAllow)
	require.Equal(t, []string{"BACKUP_TARGET", "PGPASSWORD"}, cfg.Builtins.ExecAllowEnv)

	for args, says := range map[string]string{
		"--exec-allow-env=HOME":          "--exec-allow-env: HOME can't be given to jobs",
		"--exec-allow-env=OK,PATH":       "--exec-allow-env: PATH can't be given to jobs",
		"--exec-allow-env=BACKUP-TARGET": `"BACKUP-TARGET" is not a variable name`,
		"--exec-allow=backup-db":         `--exec-allow: "backup-db" is not an absolute path or glob`,
	} {
		_, err := parseConfig([]string{args}, io.Discard)
		require.ErrorContains(t, err, says, args)
	}
}

// TestBinaryShutsDownOnSIGTERM builds the kiln binary, starts it, and sends it SIGTERM: it stops
// serving, closes the database and exits 0.
func TestBinaryShutsDownOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kiln")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race") // reuse the packages this test binary was built from
	}
	build := exec.Command("go", append(args, "github.com/kilnhq/kiln")...)
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "kiln.db"), "--log-format", "text")
	stderr, stderrW := io.Pipe()
	cmd.Stderr = stderrW // Wait returns once everything written was copied to the pipe
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	lines := bufio.NewScanner(stderr)
	addrRE := regexp.MustCompile(`addr=http://(\S+)`)
	var addr string
	for addr == "" && lines.Scan() {
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	require.NotEmpty(t, addr, "kiln never said where it listens")
	var rest bytes.Buffer
	logsDone := make(chan struct{})
	go func() {
		for lines.Scan() {
			rest.WriteString(lines.Text() + "\n")
		}
		close(logsDone)
	}()

	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { err := cmd.Wait(); stderrW.Close(); done <- err }()
	select {
	case err := <-done:
		require.NoError(t, err, "kiln exits 0 after SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("kiln did not exit after SIGTERM")
	}
	<-logsDone
	require.Contains(t, rest.String(), "kiln: stopped")
}

// The README's configuration table lists every flag, with its environment variable and the
// default the flag really has.
func TestReadmeConfigurationTableMatchesTheFlags(t *testing.T) {
	var usage bytes.Buffer
	require.Equal(t, 0, Run(context.Background(), []string{"--help"}, nil, io.Discard, &usage))
	flags := map[string]string{} // name -> default ("" when none)
	envs := map[string]string{}
	re := regexp.MustCompile(`(?m)^  --([a-z-]+)[^\n]*\n[^\n]*\n      env (KILN_[A-Z_]+)(?:, default (.*))?$`)
	for _, m := range re.FindAllStringSubmatch(usage.String(), -1) {
		flags[m[1]], envs[m[1]] = m[3], m[2]
	}
	require.NotEmpty(t, flags)

	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `(KILN_[A-Z_]+)` \\| ([^|]+) \\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		name, env, def := m[1], m[2], strings.TrimSpace(m[3])
		documented[name] = true
		want, ok := flags[name]
		if !assert.True(t, ok, "README documents --%s, which kiln doesn't have", name) {
			continue
		}
		assert.Equal(t, envs[name], env, "--%s", name)
		switch {
		case strings.HasPrefix(def, "`"):
			got := strings.Trim(def, "`")
			if dg, err1 := time.ParseDuration(got); err1 == nil {
				dw, err2 := time.ParseDuration(want)
				assert.NoError(t, err2, "--%s", name)
				assert.Equal(t, dw, dg, "--%s: README says %s, the flag %s", name, got, want)
			} else {
				assert.True(t, strings.EqualFold(want, got), "--%s: README says %s, the flag %s", name, got, want) // slog prints INFO
			}
		default: // off, none, random...: no default value
			assert.True(t, want == "" || want == "false", "--%s: README says %q, the flag defaults to %q", name, def, want)
		}
	}
	for name := range flags {
		assert.True(t, documented[name], "--%s is missing from the README's configuration table", name)
	}
}
