package web

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// A web page can rebind its own host name to 127.0.0.1 and then talk to Kiln as if it were
// Kiln's own page (DNS rebinding): same origin, so it may read every page and post every form.
// What gives it away is the Host header, which still names the attacker's domain. So Kiln
// answers only to names it knows when it listens on loopback (as Vite, Jupyter and
// webpack-dev-server do), and a request counts as "from this machine" only when its Host is
// one of this machine's loopback names.

// hostNameRE matches a DNS name (underscores allowed, as in container service names).
var hostNameRE = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$`)

// hostPolicy decides which Host headers Kiln answers to.
type hostPolicy struct {
	// allowed are the names of --allowed-hosts, lower case; "*.example.com" allows every
	// sub-domain of example.com.
	allowed []string
	// enforce refuses requests for any other host: Kiln listens on loopback only, or the
	// allowed hosts were listed.
	enforce bool
}

// newHostPolicy builds the policy of a server listening on addr.
func newHostPolicy(addr string, allowed []string) (hostPolicy, error) {
	p := hostPolicy{}
	for _, h := range allowed {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		h = strings.Trim(h, "[]")
		name, wild := strings.CutPrefix(h, "*.")
		if !hostNameRE.MatchString(name) && (wild || net.ParseIP(name) == nil) {
			return p, fmt.Errorf("web: allowed host %q: give a host name such as kiln.example.com, *.example.com or an IP address, without scheme or port", h)
		}
		p.allowed = append(p.allowed, h)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return p, fmt.Errorf("web: address %q: %w", addr, err)
	}
	p.enforce = len(p.allowed) > 0 || isLoopbackName(host)
	return p, nil
}

// hostName returns the name part of a Host header, lower case, without port or brackets.
func hostName(hostHeader string) string {
	h := hostHeader
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}

// isLoopbackName reports a name that can only mean this machine: localhost, a sub-domain of
// localhost (browsers resolve those to loopback themselves, RFC 6761), or a loopback address.
// A trailing dot is not accepted: "localhost." goes to DNS.
func isLoopbackName(name string) bool {
	name = strings.ToLower(strings.Trim(name, "[]"))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// listed reports a name in the allowed hosts.
func (p hostPolicy) listed(name string) bool {
	for _, a := range p.allowed {
		if a == name || (strings.HasPrefix(a, "*.") && strings.HasSuffix(name, a[1:]) && len(name) > len(a)-1) {
			return true
		}
	}
	return false
}

// answers reports whether Kiln serves a request for this Host header: any, unless the policy
// is enforced; then a loopback name or an allowed host.
func (p hostPolicy) answers(hostHeader string) bool {
	if !p.enforce {
		return true
	}
	name := hostName(hostHeader)
	return name != "" && (isLoopbackName(name) || p.listed(name))
}

// proxyHeaders are the headers that say a request came through a proxy (or pretends to). A
// request carrying any of them, even empty, is never local.
var proxyHeaders = []string{
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "X-Client-Ip",
	"True-Client-Ip", "Cf-Connecting-Ip", "Fastly-Client-Ip", "X-Cluster-Client-Ip", "X-Original-Forwarded-For", "Via",
}

// cameThroughProxy reports a request that carries any proxy header.
func cameThroughProxy(r *http.Request) bool {
	for _, h := range proxyHeaders {
		if _, ok := r.Header[h]; ok {
			return true
		}
	}
	return false
}

// isLocal reports a request made directly from this machine, for this machine: its peer is a
// loopback address, it carries no proxy header, and its Host is a loopback name (a page that
// rebound its own name to 127.0.0.1 is not local). A name in --allowed-hosts is answered but
// never local: it is usually a reverse proxy's public name, and a proxy on this machine that
// passes the Host on without a forwarding header would otherwise let the whole internet in.
func isLocal(r *http.Request) bool {
	if cameThroughProxy(r) || !isLoopbackName(hostName(r.Host)) {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errUnknownHost is the answer to a request for a host Kiln doesn't serve. 421 Misdirected
// Request says the request reached the wrong server, which is what it did.
func errUnknownHost(host string) error {
	return echo.NewHTTPError(http.StatusMisdirectedRequest, fmt.Sprintf(
		"Kiln does not answer to the host name %q. It answers to localhost, 127.0.0.1 and [::1], and to the "+
			"names listed in --allowed-hosts (KILN_ALLOWED_HOSTS). If you reach Kiln through a reverse proxy or "+
			"under another name, add that name there.", host))
}

// checkHost refuses requests for host names Kiln doesn't serve (see hostPolicy), before any
// handler or cookie sees them. Health checks and assets answer to any name, so load balancers
// and orchestrators can probe a node by its address.
func (s *Server) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.hosts.answers(c.Request().Host) && !isQuietPath(c.Path()) {
			return errUnknownHost(c.Request().Host)
		}
		return next(c)
	}
}
