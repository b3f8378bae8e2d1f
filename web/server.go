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
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/static"
)

// Config configures the web server. The zero value of every field means its default.
type Config struct {
	// Addr is the host:port to listen on. Default "127.0.0.1:8080"; ":0" or "host:0" picks a free port.
	Addr string
	// ShutdownTimeout bounds how long Stop waits for in-flight requests. Default 15s.
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
	// reverse proxy); otherwise the socket's address is used. Default off.
	TrustProxy bool
	// SessionTTL is how long a login lasts. Default 12h.
	SessionTTL time.Duration
	// Secret, when set, derives the session keys, so that nodes behind one load balancer accept
	// each other's sessions. Default: random keys kept in the database (shared by its nodes).
	Secret string
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	return c
}

func (c Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("web: address %q: %w", c.Addr, err)
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("web: shutdown timeout %s is negative", c.ShutdownTimeout)
	}
	return nil
}

// contentSecurityPolicy allows only Kiln's own scripts, styles and images: no inline script,
// no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// maxBodySize bounds request bodies; a task form is a few kilobytes at most.
const maxBodySize = "1M"

// Server is Kiln's HTTP server.
type Server struct {
	cfg      Config
	store    *models.Store
	engine   *jobs.Engine
	log      *slog.Logger
	sessions *securecookie.SecureCookie
	suggest  suggestions
	echo     *echo.Echo
	http     *http.Server
	ln       net.Listener
	done     chan error
}

// New builds the server and its routes; Start makes it listen. The engine enqueues the jobs
// users ask for; it need not work them (it may be started with NoWorkers).
func New(cfg Config, store *models.Store, engine *jobs.Engine, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, store: store, engine: engine, log: log, echo: echo.New()}
	var err error
	if s.sessions, err = newSessionCodec(context.Background(), cfg, store); err != nil {
		return nil, err
	}
	s.echo.HideBanner, s.echo.HidePort = true, true
	s.echo.HTTPErrorHandler = s.handleError
	s.echo.IPExtractor = echo.ExtractIPDirect()
	if cfg.TrustProxy {
		s.echo.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	s.middleware()
	s.routes()
	return s, nil
}

func (s *Server) middleware() {
	e := s.echo
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: http.StatusMovedPermanently}))
	e.Use(middleware.RequestID())
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogRemoteIP: true,
		HandleError: true, // run the error handler first so the logged status is the one sent
		Skipper:     func(c echo.Context) bool { return isQuietPath(c.Path()) },
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("method", v.Method), slog.String("uri", v.URI), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("ip", v.RemoteIP), slog.String("request_id", v.RequestID))
			return nil
		},
	}))
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
		ContentSecurityPolicy: contentSecurityPolicy,
	}))
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{Level: 5, MinLength: 1024}))
	e.Use(middleware.BodyLimit(maxBodySize))
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:" + csrfField + ",header:" + echo.HeaderXCSRFToken,
		ContextKey:     csrfContextKey,
		CookieName:     "kiln_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   s.cfg.CookieSecure,
		CookieSameSite: http.SameSiteLaxMode,
		Skipper:        func(c echo.Context) bool { return isQuietPath(c.Path()) },
		// A missing token is as forbidden as a wrong one.
		ErrorHandler: func(error, echo.Context) error { return errCSRF },
	}))
	e.Use(s.authenticate)
}

// isQuietPath reports the routes that need neither request logs nor CSRF cookies.
func isQuietPath(path string) bool {
	return strings.HasPrefix(path, static.Prefix) || path == "/healthz" || path == "/readyz"
}

func (s *Server) routes() {
	e := s.echo
	e.GET(static.Prefix+"*", serveStatic)
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)

	e.GET("/login", s.handleLoginPage)
	e.POST("/login", s.handleLogin, s.loginRateLimit())
	e.POST("/logout", s.handleLogout)

	e.GET("/", s.handleTaskList)
	e.GET("/tasks", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/") })
	e.GET("/tasks/new", s.handleTaskNew)
	e.POST("/tasks", s.handleTaskCreate)
	e.GET("/tasks/:id", s.handleTaskShow)
	e.GET("/tasks/:id/edit", s.handleTaskEdit)
	e.POST("/tasks/:id", s.handleTaskUpdate)
	e.POST("/tasks/:id/complete", s.handleTaskComplete)
	e.POST("/tasks/:id/reopen", s.handleTaskReopen)
	e.GET("/tasks/:id/delete", s.handleTaskDeleteConfirm)
	e.POST("/tasks/:id/delete", s.handleTaskDelete)
	e.POST("/work-items", s.handleWorkItemCreate)

	e.GET("/dashboard", s.handleOverview)
	e.GET("/dashboard/live", s.handleOverviewLive)
	e.GET("/dashboard/jobs", s.handleJobs)
	e.POST("/dashboard/jobs/bulk", s.handleJobsBulk)
	e.GET("/dashboard/jobs/:id", s.handleJob)
	e.GET("/dashboard/jobs/:id/live", s.handleJobLive)
	e.POST("/dashboard/jobs/:id/:action", s.handleJobAction)
	e.GET("/dashboard/recurring", s.handleRecurring)
	e.GET("/dashboard/recurring/:id/edit", s.handleRecurringEdit)
	e.POST("/dashboard/recurring/:id/edit", s.handleRecurringSave)
	e.POST("/dashboard/recurring/:id/:action", s.handleRecurringAction)
	e.GET("/dashboard/servers", s.handleServers)
	e.GET("/dashboard/queues", s.handleQueues)
	e.POST("/dashboard/queues/:name/:action", s.handleQueueAction)
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
// (or until ctx ends), then closes whatever is left.
func (s *Server) Stop(ctx context.Context) error {
	if s.http == nil {
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
