package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/audit"
	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// Config is the whole program's configuration, from flags with environment overrides.
type Config struct {
	DB        string
	LogLevel  slog.Level
	LogFormat string
	Demo      bool
	// MetricsAddr, when set, serves /metrics on a listener of its own, without auth: for
	// scrapers inside a private network.
	MetricsAddr string
	// AdminPassword is the first admin's password, used only when there is no user yet.
	AdminPassword string
	Web           web.Config
	Jobs          jobs.Config
	Builtins      builtin.Config
	Tasks         tasks.Config
	Alerts        alerts.Config
	Audit         audit.Config
}

// defaultDB is where Kiln keeps its SQLite database unless told otherwise (--db, KILN_DB).
const defaultDB = "data/kiln.db"

// serveFlags declares kiln's flags on fs; once fs is parsed, the function it returns reads them
// into a checked Config.
func serveFlags(fs *flag.FlagSet) func() (Config, error) {
	var cfg Config
	fs.StringVar(&cfg.Web.Addr, "addr", web.DefaultAddr, "`host:port` to serve HTTP on; use 0.0.0.0:8080 to accept other machines")
	fs.StringVar(&cfg.DB, "db", defaultDB, "database: a SQLite `path` (created if missing) or a postgres:// URL")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log `format`: text or json")
	fs.BoolVar(&cfg.Demo, "demo", false, "create 10 demo tasks due 5 minutes apart from now, then serve")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "also serve /metrics on this `host:port`, without auth, for a scraper inside a private network (the main address serves it to a viewer token or local access)")
	fs.StringVar(&cfg.Alerts.PublicURL, "public-url", "", "the `URL` people reach Kiln at (https://kiln.example.com), for the links in alerts' messages; default: messages carry no links")
	fs.DurationVar(&cfg.Web.ShutdownTimeout, "shutdown-timeout", web.DefaultShutdownTimeout, "how long to wait for in-flight requests on shutdown")
	fs.BoolVar(&cfg.Web.CookieSecure, "cookie-secure", false, "mark cookies Secure; turn on when Kiln is served over HTTPS")
	fs.BoolVar(&cfg.Web.LocalNoAuth, "local-no-auth", true, "let requests made directly from this machine skip login (never those through a proxy)")
	fs.BoolVar(&cfg.Web.TrustProxy, "trust-proxy", false, "take the client address from X-Forwarded-For, when the request comes from one of --trusted-proxies; set behind a reverse proxy")
	trustedProxies := fs.String("trusted-proxies", strings.Join(web.DefaultTrustedProxies, ","), "`CIDRs` or addresses of the reverse proxies whose X-Forwarded-For --trust-proxy believes, comma-separated")
	allowedHosts := fs.String("allowed-hosts", "", "host `names` Kiln also answers to, comma-separated, e.g. a reverse proxy's public name (kiln.example.com, *.example.com); other names are refused when Kiln listens on loopback or this is set")
	fs.DurationVar(&cfg.Web.SessionTTL, "session-ttl", web.DefaultSessionTTL, "how long a login lasts")
	fs.StringVar(&cfg.Web.Secret, "secret", "", "key for signing sessions, the same on every node (prefer the environment variable); default: a random key kept in the database")
	fs.StringVar(&cfg.AdminPassword, "admin-password", "", "password of the first admin, created when there is no user (prefer the environment variable); default: random, printed once")
	queues := fs.String("queues", jobs.FormatQueues([]jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: jobs.DefaultWorkers}}), "queues this process works and their `workers`, e.g. critical=10,default=5,low=2")
	fs.BoolVar(&cfg.Jobs.NoWorkers, "no-workers", false, "enqueue and serve only; work no jobs in this process")
	fs.DurationVar(&cfg.Jobs.PollInterval, "poll-interval", jobs.DefaultPollInterval, "how often idle workers look for jobs enqueued by other processes")
	fs.DurationVar(&cfg.Jobs.Lease, "lease", jobs.DefaultLease, "how long a running job is reserved for its process; renewed every third of it")
	fs.DurationVar(&cfg.Jobs.SoftStop, "soft-stop", jobs.DefaultSoftStop, "on shutdown, how long running jobs may finish before they are cancelled")
	fs.IntVar(&cfg.Jobs.MaxRescues, "max-rescues", models.DefaultMaxRescues, "how many times a job whose server died while running it goes back to its queue (using no attempt); the next death fails it as a poison pill")
	fs.StringVar(&cfg.Tasks.SweepEvery, "sweep-every", tasks.DefaultSweepEvery, "`schedule` of the overdue-task sweep: a cron expression, @every <duration>, or a duration such as 1m")
	fs.DurationVar(&cfg.Builtins.Retention, "retention", builtin.DefaultRetention, "how long succeeded, cancelled and deleted jobs are kept")
	fs.DurationVar(&cfg.Builtins.FailedRetention, "failed-retention", 0, "how long failed jobs are kept; 0 keeps them until deleted by hand")
	fs.StringVar(&cfg.Web.OIDC.Issuer, "oidc-issuer", "", "single sign-on: the OpenID Connect provider's issuer `URL` (https://keycloak.example.com/realms/acme); needs --public-url, --oidc-client-id and --oidc-role-map")
	fs.StringVar(&cfg.Web.OIDC.ClientID, "oidc-client-id", "", "single sign-on: Kiln's client `id` at the provider; its redirect URL is <public-url>/auth/callback")
	fs.StringVar(&cfg.Web.OIDC.ClientSecret, "oidc-client-secret", "", "single sign-on: the client's `secret`, or ${secret:NAME} to read it from Kiln's secrets at each sign-in (prefer either to the flag: the environment variable or a secret)")
	oidcScopes := fs.String("oidc-scopes", strings.Join(web.DefaultOIDCScopes, ","), "single sign-on: `scopes` to ask for, comma-separated; add the one that puts the role claim in the ID token where the provider needs it (e.g. groups)")
	fs.StringVar(&cfg.Web.OIDC.RoleClaim, "oidc-role-claim", web.DefaultOIDCRoleClaim, "single sign-on: the ID token's `claim` --oidc-role-map reads (a string or a list of strings)")
	oidcRoleMap := fs.String("oidc-role-map", "", "single sign-on: roles by the role claim's `values`, e.g. 'kiln-admins=admin,oncall=operator,*=viewer' (* is anyone; the strongest match wins; who matches nothing is refused)")
	fs.StringVar(&cfg.Web.OIDC.ProviderName, "oidc-provider-name", web.DefaultOIDCProviderName, "single sign-on: the provider's `name` on the login page's button (Sign in with ...)")
	localLogin := fs.Bool("local-login", true, "let users log in with a password; turn off once single sign-on works (kiln user still sets passwords, for when the provider is away)")
	fs.DurationVar(&cfg.Audit.Retention, "audit-retention", audit.DefaultRetention, "how long the audit trail's entries are kept (a checkpoint keeps what is left verifiable)")
	execAllow := fs.String("exec-allow", "", "`programs` exec jobs may run, comma-separated absolute paths or globs (/usr/local/bin/backup-*), links followed; empty: exec jobs are refused")
	execAllowEnv := fs.String("exec-allow-env", "", "environment `variables` exec jobs may set besides "+strings.Join(builtin.ExecSafeEnv(), ", ")+
		", comma-separated (BACKUP_TARGET,PGPASSWORD); never "+strings.Join(builtin.ExecBaseEnv(), ", ")+"; only names that can't make a program run other code")
	return func() (Config, error) {
		qs, err := jobs.ParseQueues(*queues)
		if err != nil {
			return cfg, fmt.Errorf("config: --queues: %w", err)
		}
		cfg.Jobs.Queues = qs
		cfg.Web.TrustedProxies, cfg.Web.AllowedHosts = splitList(*trustedProxies), splitList(*allowedHosts)
		cfg.Builtins.ExecAllow, cfg.Builtins.ExecAllowEnv = splitList(*execAllow), splitList(*execAllowEnv)
		cfg.Alerts.Retention = cfg.Builtins.Retention // resolved alerts live as long as the jobs they link to
		cfg.Web.NoLocalLogin, cfg.Web.OIDC.Scopes = !*localLogin, splitList(*oidcScopes)
		if strings.TrimSpace(*oidcRoleMap) != "" {
			if cfg.Web.OIDC.RoleMap, err = web.ParseRoleMap(*oidcRoleMap); err != nil {
				return cfg, fmt.Errorf("config: --oidc-role-map: %w", err)
			}
		}
		if cfg.Jobs.MaxRescues < 0 {
			return cfg, fmt.Errorf("config: --max-rescues must be 0 or more, not %d", cfg.Jobs.MaxRescues)
		}
		if cfg.Jobs.MaxRescues == 0 {
			cfg.Jobs.MaxRescues = -1 // jobs.Config reads 0 as "the default"; here it means none
		}
		return cfg, cfg.validate()
	}
}

// parseConfig reads kiln's flags from args, then KILN_* environment variables for flags not
// given: the configuration a test or a chaos node serves with.
func parseConfig(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("kiln", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := serveFlags(fs)
	if err := ff.Parse(fs, args, ff.WithEnvVarPrefix(envPrefix)); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected argument %q (see kiln --help)", fs.Arg(0))
	}
	return config()
}

func (c Config) validate() error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("config: --log-format must be text or json, not %q", c.LogFormat)
	}
	if strings.TrimSpace(c.DB) == "" {
		return errors.New("config: --db must not be empty")
	}
	if _, err := jobs.ParseSchedule(c.Tasks.SweepEvery, "UTC"); err != nil {
		return fmt.Errorf("config: --sweep-every: %w", err)
	}
	if c.Builtins.Retention < time.Minute {
		return fmt.Errorf("config: --retention must be at least 1m, not %s", c.Builtins.Retention)
	}
	if c.Builtins.FailedRetention != 0 && c.Builtins.FailedRetention < time.Minute {
		return fmt.Errorf("config: --failed-retention must be 0 (keep failed jobs) or at least 1m, not %s", c.Builtins.FailedRetention)
	}
	for name, d := range map[string]time.Duration{"--poll-interval": c.Jobs.PollInterval, "--lease": c.Jobs.Lease, "--soft-stop": c.Jobs.SoftStop, "--session-ttl": c.Web.SessionTTL} {
		if d <= 0 {
			return fmt.Errorf("config: %s must be positive, not %s", name, d)
		}
	}
	if c.Web.ShutdownTimeout <= 0 {
		return fmt.Errorf("config: --shutdown-timeout must be positive, not %s", c.Web.ShutdownTimeout)
	}
	w := c.Web
	w.Alerts.PublicURL = c.Alerts.PublicURL // serve hands the web server its alerts' config
	if err := w.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.Builtins.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.Audit.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.Alerts.PublicURL != "" {
		if err := alerts.CheckPublicURL(c.Alerts.PublicURL); err != nil {
			return fmt.Errorf("config: --public-url: %w", err)
		}
	}
	return nil
}

// splitList reads a comma-separated list, dropping blanks; an empty list is an empty slice.
func splitList(s string) []string {
	out := []string{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
