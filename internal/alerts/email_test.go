package alerts_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/models"
)

// mailbox is an SMTP server run by the test (go-smtp): it asks for a login, offers STARTTLS or
// TLS, and keeps what it is sent.
type mailbox struct {
	addr  *net.TCPAddr
	roots *x509.CertPool // trusts the server's certificate
	got   chan delivered
}

// delivered is one message the server took, with the login it came with.
type delivered struct {
	user, password string
	from           string
	to             []string
	data           []byte
	tls            bool
}

type smtpBackend struct{ box *mailbox }

func (b smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{box: b.box, conn: c}, nil
}

type smtpSession struct {
	box  *mailbox
	conn *smtp.Conn
	d    delivered
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != "kiln" || password != "smtp-pass-word" {
			return errors.New("invalid credentials")
		}
		s.d.user, s.d.password = user, password
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.d.user == "" {
		return smtp.ErrAuthRequired
	}
	s.d.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.d.to = append(s.d.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.d.data = b
	_, s.d.tls = s.conn.TLSConnectionState()
	s.box.got <- s.d
	return nil
}

func (s *smtpSession) Reset()        { s.d = delivered{user: s.d.user, password: s.d.password} }
func (s *smtpSession) Logout() error { return nil }

// newMailbox starts an SMTP server on a free port: with implicitTLS, TLS from the first byte;
// otherwise plain text that offers STARTTLS.
func newMailbox(t *testing.T, implicitTLS bool) *mailbox {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	box := &mailbox{roots: x509.NewCertPool(), got: make(chan delivered, 10)}
	box.roots.AddCert(cert)
	srv := smtp.NewServer(smtpBackend{box})
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	var ln net.Listener
	if implicitTLS {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	require.NoError(t, err)
	box.addr = ln.Addr().(*net.TCPAddr)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return box
}

// emailChannel is a channel sending through box as security, logging in with the password
// from the vault.
func emailChannel(box *mailbox, security string) *models.Channel {
	return &models.Channel{Name: "oncall", Type: models.ChannelEmail, Settings: models.ChannelSettings{
		SMTPHost: "localhost", SMTPPort: box.addr.Port, SMTPSecurity: security, SMTPUser: "kiln", SMTPPassword: "${secret:SMTP_PASSWORD}",
		From: "Kiln <kiln@example.com>", To: []string{"ops@example.com", "ada@example.com"}}}
}

func mailSender(t *testing.T, box *mailbox) *alerts.Sender {
	s, err := alerts.NewSender(nil, alerts.Config{Secrets: vault{"SMTP_PASSWORD": "smtp-pass-word"}, TLSConfig: &tls.Config{RootCAs: box.roots, MinVersion: tls.VersionTLS12}})
	require.NoError(t, err)
	return s
}

// An email goes over STARTTLS (or TLS) with the login from the vault, to every recipient,
// with the title as subject and a plain text and an HTML part, both linking to the job; the
// HTML escapes what the message says.
func TestEmail(t *testing.T) {
	for _, security := range []string{models.ChannelSecuritySTARTTLS, models.ChannelSecurityTLS} {
		t.Run(security, func(t *testing.T) {
			box := newMailbox(t, security == models.ChannelSecurityTLS)
			require.NoError(t, mailSender(t, box).Send(ctx, emailChannel(box, security), firing))
			var d delivered
			select {
			case d = <-box.got:
			case <-time.After(10 * time.Second):
				t.Fatal("the SMTP server got no message")
			}
			require.True(t, d.tls, "sent over TLS")
			require.Equal(t, "kiln", d.user)
			require.Equal(t, "kiln@example.com", d.from)
			require.Equal(t, []string{"ops@example.com", "ada@example.com"}, d.to)

			msg, err := mail.ReadMessage(strings.NewReader(string(d.data)))
			require.NoError(t, err)
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			require.NoError(t, err)
			require.Equal(t, firing.Title, subject)
			require.Contains(t, msg.Header.Get("From"), "kiln@example.com")
			require.Contains(t, msg.Header.Get("To"), "ops@example.com")
			require.NotEmpty(t, msg.Header.Get("Message-Id"))
			_, err = msg.Header.Date()
			require.NoError(t, err)

			mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			require.NoError(t, err)
			require.Equal(t, "multipart/alternative", mediaType)
			parts := map[string]string{}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			for {
				p, err := mr.NextPart() // decodes quoted-printable
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				typ, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
				b, err := io.ReadAll(p)
				require.NoError(t, err)
				parts[typ] = string(b)
			}
			require.Contains(t, parts, "text/plain")
			require.Contains(t, parts, "text/html")
			require.Contains(t, parts["text/plain"], firing.Summary)
			require.Contains(t, parts["text/plain"], "https://kiln.example.com/dashboard/jobs/41")
			require.Contains(t, parts["text/plain"], "<b>boom</b> & more", "plain text as it is")
			require.Contains(t, parts["text/html"], `<a href="https://kiln.example.com/dashboard/jobs/41">job 41</a>`)
			require.Contains(t, parts["text/html"], `<a href="https://kiln.example.com/dashboard/recurring/3">Open in Kiln</a>`)
			require.Contains(t, parts["text/html"], "&lt;b&gt;boom&lt;/b&gt; &amp; more", "HTML escaped")
			require.NotContains(t, parts["text/html"], "<b>boom")
		})
	}
}

// A wrong password is an error that names the server and never the password.
func TestEmailWrongPasswordIsMasked(t *testing.T) {
	box := newMailbox(t, false)
	s, err := alerts.NewSender(nil, alerts.Config{Secrets: vault{"SMTP_PASSWORD": "not-the-password"}, TLSConfig: &tls.Config{RootCAs: box.roots, MinVersion: tls.VersionTLS12}})
	require.NoError(t, err)
	err = s.Send(ctx, emailChannel(box, models.ChannelSecuritySTARTTLS), firing)
	require.Error(t, err)
	require.Contains(t, err.Error(), "smtp localhost:"+strconv.Itoa(box.addr.Port))
	require.NotContains(t, err.Error(), "not-the-password")
}
