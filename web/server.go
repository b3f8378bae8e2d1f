// Package web is Kiln's HTTP face: the Echo server, its middleware, and one file of handlers per
// resource. Handlers are thin: parse the request, call models, build a view model, render.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/internal/groupcommit"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/static"
	"github.com/kilnhq/kiln/views/components"
)

// Config configures the web server. The zero value of every field means its default.
type Config struct {
	// Addr is the host:port to listen on. Default DefaultAddr; ":0" or "host:0" picks a free port.
	Addr string
	// ShutdownTimeout bounds how long Stop waits for in-flight requests. Default
	// DefaultShutdownTimeout (15s).
	ShutdownTimeout time.Duration
	// CookieSecure marks cookies Secure; turn it on when Kiln is served over HTTPS. Default off.
	CookieSecure bool
	// Version is shown in the page footer. Default "dev".
	Version string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// LocalNoAuth lets requests made directly from this machine (loopback, no proxy headers)
	// act as an admin without logging in, as Hangfire's dashboard does by default. Default off
	// in this struct; the kiln command turns it on unless --local-no-auth=false.
	LocalNoAuth bool
	// TrustProxy takes the client address from X-Forwarded-For (set when Kiln is behind a
	// reverse proxy), when the request comes from one of TrustedProxies; otherwise the
	// socket's address is used. Default off.
	TrustProxy bool
	// TrustedProxies are the addresses (CIDRs or single IPs) of the proxies whose
	// X-Forwarded-For is believed. Default DefaultTrustedProxies: loopback only.
	TrustedProxies []string
	// AllowedHosts are host names, besides localhost and the loopback addresses, that Kiln
	// answers to: a reverse proxy's public name, say. "*.example.com" allows sub-domains. When
	// Kiln listens on loopback only, or this list is set, requests for any other host are
	// refused (421), which defeats DNS rebinding. These names never count as local access.
	// Default none.
	AllowedHosts []string
	// SessionTTL is how long a login lasts. Default DefaultSessionTTL (12h).
	SessionTTL time.Duration
	// Metrics, when set, is served at /metrics (to a viewer token or local access) and hears
	// every request. Default none.
	Metrics Metrics
	// Secrets, when set, keeps the named secrets of /dashboard/secrets and /api/v1/secrets.
	Secrets SecretVault
	// Exec is what exec jobs may run here, shown on the new-job form: the policy the built-in
	// kinds were registered with (builtin.Config.ExecPolicy). Default none: exec is off.
	Exec builtin.ExecPolicy
	// Alerts is how alerts' channels send (their secrets, --public-url), for "Send test" and
	// for checking a channel when it is saved. Default: the zero alerts.Config.
	Alerts alerts.Config
	// Secret, when set, derives the keys of session cookies and CSRF tokens, so that nodes behind
	// one load balancer accept each other's; it must be at least 32 bytes. Default: random keys
	// kept in the database (shared by its nodes).
	Secret string
	// OIDC, when its Issuer is set, offers single sign-on on the login page; the provider sends
	// browsers back to Alerts.PublicURL + "/auth/callback". Default off.
	OIDC OIDC
	// NoLocalLogin turns off logging in with a password (the form and POST /login), once single
	// sign-on works; kiln user still sets passwords, for when the provider is away. Default off.
	NoLocalLogin bool
}

// Metrics are what the server reports requests to and serves at /metrics.
type Metrics interface {
	ObserveHTTP(route string, status int, took time.Duration)
	Handler() http.Handler
}

// Defaults of Config, also the kiln command's flag defaults.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultShutdownTimeout = 15 * time.Second
	DefaultSessionTTL      = 12 * time.Hour
)

// DefaultTrustedProxies are the proxies trusted by default: a reverse proxy on this machine.
var DefaultTrustedProxies = []string{"127.0.0.0/8", "::1/128"}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.TrustedProxies == nil {
		c.TrustedProxies = DefaultTrustedProxies
	}
	if c.OIDC.Enabled() {
		c.OIDC = c.OIDC.withDefaults()
	}
	return c
}

// Validate reports the first setting that can't work, in words a person can act on.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("web: address %q: %w", c.Addr, err)
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("web: shutdown timeout %s is negative", c.ShutdownTimeout)
	}
	if c.Secret != "" {
		if len(c.Secret) < minSecretLen {
			return fmt.Errorf("web: the secret (--secret, KILN_SECRET) is %s; it must be at least %d bytes of random data, "+
				"the same on every node. Make one with: openssl rand -base64 32", components.Plural(len(c.Secret), "byte", "bytes"), minSecretLen)
		}
		if why := notRandom(c.Secret); why != "" {
			return fmt.Errorf("web: the secret (--secret, KILN_SECRET) is not random: %s. Make one with: openssl rand -base64 32, "+
				"the same on every node", why)
		}
	}
	if err := c.OIDC.validate(c.Alerts.PublicURL); err != nil {
		return err
	}
	if c.NoLocalLogin && !c.OIDC.Enabled() {
		return fmt.Errorf("web: --local-login=false needs --oidc-issuer: otherwise nobody could log in")
	}
	if _, err := parseProxies(c.TrustedProxies); err != nil {
		return err
	}
	_, err := newHostPolicy(c.Addr, c.AllowedHosts)
	return err
}

// parseProxies reads CIDRs and single addresses (a /32 or /128).
func parseProxies(list []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range list {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			ip := net.ParseIP(p)
			if ip == nil {
				return nil, fmt.Errorf("web: trusted proxy %q is neither an IP address nor a CIDR such as 10.0.0.0/8", p)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("web: trusted proxy %q is neither an IP address nor a CIDR such as 10.0.0.0/8", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// clientIPExtractor takes the client's address from the socket or, behind trusted proxies,
// from X-Forwarded-For: walking it from the right, the first address that is not a trusted
// proxy's. Echo trusts private and link-local networks by default; here only what was listed.
func clientIPExtractor(cfg Config) (echo.IPExtractor, error) {
	if !cfg.TrustProxy {
		return echo.ExtractIPDirect(), nil
	}
	nets, err := parseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range nets {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// contentSecurityPolicy allows only Kiln's own scripts, styles and images: no inline script,
// no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// contentSecurityPolicy is the policy of every page. With single sign-on, forms may also lead
// to the provider's origin: logging out redirects there (RP-initiated logout), and browsers
// hold a form's redirects to form-action too.
func (s *Server) contentSecurityPolicy() string {
	if !s.cfg.OIDC.Enabled() {
		return contentSecurityPolicy
	}
	u, err := url.Parse(s.cfg.OIDC.Issuer) // checked by Validate
	if err != nil {
		return contentSecurityPolicy
	}
	return strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action 'self' "+u.Scheme+"://"+u.Host, 1)
}

// maxBodyBytes bounds request bodies: a form is a few kilobytes, a job's arguments rarely more.
// It is also huma's default bound of every API operation's body; the two agree so that huma
// stops reading at its own bound (a 413 problem) before limitBody's reader refuses a byte.
const maxBodyBytes = 1 << 20

// bodyLimitText is maxBodyBytes as the 413 page and the job form say it.
var bodyLimitText = components.FormatBytes(maxBodyBytes)

// Server is Kiln's HTTP server.
type Server struct {
	cfg    Config
	store  *models.Store
	engine *jobs.Engine
	log    *slog.Logger
	api    huma.API
	// argsRegistry holds the JSON Schemas of kinds' arguments (GET /api/v1/kinds).
	argsRegistry huma.Registry
	keys         serverKeys
	sessions     *securecookie.SecureCookie
	hosts        hostPolicy
	crossOrigin  *http.CrossOriginProtection
	suggest      suggestions
	echo         *echo.Echo
	http         *http.Server
	ln           net.Listener
	done         chan error
	stopped      atomic.Bool    // Stop ran
	channels     *alerts.Sender // saves, checks and tests the alerts' channels
	// needs holds what each route needs from authz's table, by routeKey (authorize.go).
	needs map[string]need
	sso   *ssoClient // single sign-on; nil when off
	// audit appends the audit trail's entries, group-committed: concurrent requests share a
	// transaction, as their enqueues do.
	audit *groupcommit.Group[*models.AuditEntry, error]
}

// New builds the server and its routes; Start makes it listen. The engine enqueues the jobs
// users ask for; it need not work them (it may be started with NoWorkers).
func New(cfg Config, store *models.Store, engine *jobs.Engine, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, store: store, engine: engine, log: log, echo: echo.New(), crossOrigin: http.NewCrossOriginProtection()}
	var err error
	if s.hosts, err = newHostPolicy(cfg.Addr, cfg.AllowedHosts); err != nil {
		return nil, err
	}
	if s.keys, err = newServerKeys(context.Background(), cfg, store.Settings); err != nil {
		return nil, err
	}
	s.sessions = newSessionCodec(cfg, s.keys)
	if cfg.OIDC.Enabled() {
		s.sso = newSSOClient(cfg, s.keys)
		// Not fatal: the secret may be set once Kiln runs (kiln secrets set), and is read at
		// each sign-in; until then signing in fails, and this says why up front.
		if err := builtin.CheckSecretRefs(context.Background(), s.ssoVault(), "--oidc-client-secret", cfg.OIDC.ClientSecret); err != nil {
			log.Warn("web: single sign-on will fail until this is fixed", "err", err)
		}
	}
	s.audit = newAuditWriter(store.Audit)
	if s.channels, err = alerts.NewSender(store.Channels, cfg.Alerts); err != nil {
		return nil, err
	}
	s.echo.HideBanner, s.echo.HidePort = true, true
	s.echo.HTTPErrorHandler = s.handleError
	if s.echo.IPExtractor, err = clientIPExtractor(cfg); err != nil {
		return nil, err
	}
	s.middleware()
	s.routes()
	s.api = s.newAPI()
	s.declareAPI()
	// The API's description and reference page are public: they say how to call the API, not
	// what is in it. huma serves the description itself; its OpenAPI 3.0 copies need a login.
	for _, p := range []string{"/openapi.json", "/openapi.yaml"} {
		s.declare(http.MethodGet, apiPrefix+p, need{action: authz.Public})
	}
	for _, p := range []string{"/openapi-3.0.json", "/openapi-3.0.yaml"} {
		s.declare(http.MethodGet, apiPrefix+p, need{action: authz.Read})
	}
	s.route(http.MethodGet, apiPrefix+"/docs", authz.Public, s.handleAPIDocs)
	if s.cfg.Metrics != nil {
		s.route(http.MethodGet, metricsPath, authz.Read, echo.WrapHandler(s.cfg.Metrics.Handler()))
	}
	if err := s.checkRoutes(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) middleware() {
	e := s.echo
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: http.StatusMovedPermanently}))
	e.Use(middleware.RequestID())
	e.Use(s.requestLogger())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic in handler", "path", c.Path(), "err", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "same-origin",
		ContentSecurityPolicy: s.contentSecurityPolicy(),
	}))
	if s.cfg.Metrics != nil {
		e.Use(s.observe)
	}
	e.Use(s.checkHost) // before anything else answers or sets a cookie
	e.Use(traceContext)
	e.Use(limitBody) // before gzip wraps the writer MaxBytesReader tells to close the connection
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{Level: 5, MinLength: 1024, Skipper: smallAnswer}))
	e.Use(s.identify)
	e.Use(s.protectCSRF)
	e.Use(s.recordAudit) // before authorize: refusals are recorded too
	e.Use(s.authorize)
}

// smallAnswer reports whether a request's answer is too small to compress: a one-job enqueue
// through the API answers that job. Echo's gzip resets a compressor twice for every request it
// doesn't skip, even when the answer stays under MinLength: 8% of the CPU profile of one-job
// POSTs (BenchmarkAPIEnqueue, 32 clients; 1-4% of their time, 2 rounds). Other answers, small
// or not (a workflow's run, a batch), are compressed as before.
func smallAnswer(c echo.Context) bool {
	r := c.Request()
	return r.Method == http.MethodPost && r.URL.Path == apiPrefix+"/v1/jobs"
}

// limitBody refuses a body over maxBodyBytes: at once when its Content-Length says so, else
// (a chunked body) when reading passes the bound, which fails with an *http.MaxBytesError that
// classify maps to 413.
func limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > maxBodyBytes {
			return &http.MaxBytesError{Limit: maxBodyBytes}
		}
		if r.Body != nil { // a request made in a test may have none
			r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, maxBodyBytes)
		}
		return next(c)
	}
}

// isQuietPath reports the routes that need neither request logs, identity nor CSRF tokens.
func isQuietPath(path string) bool {
	return strings.HasPrefix(path, static.Prefix) || path == "/healthz" || path == "/readyz" || path == "/robots.txt"
}

// Handler returns the server's HTTP handler, for tests that use httptest.
func (s *Server) Handler() http.Handler { return s.echo }

// Start listens on the configured address and serves in the background until Stop.
func (s *Server) Start(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("web: listen: %w", err)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.done = make(chan error, 1)
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	s.log.Info("web: listening", "addr", "http://"+s.Addr())
	return nil
}

// Addr returns the address the server listens on (with the real port when ":0" was asked for).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// Stop stops accepting connections and waits for in-flight requests, at most ShutdownTimeout
// (or until ctx ends), then closes whatever is left. Stopping again does nothing.
func (s *Server) Stop(ctx context.Context) error {
	if s.http == nil || s.stopped.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
		err = fmt.Errorf("web: shutdown: %w", err)
	}
	if serveErr := <-s.done; serveErr != nil && err == nil {
		err = fmt.Errorf("web: serve: %w", serveErr)
	}
	return err
}
