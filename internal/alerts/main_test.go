package alerts_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kilnhq/kiln/jobs/builtin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// vault is a fixed set of secrets (builtin.Secrets).
type vault map[string]string

func (v vault) Reveal(_ context.Context, name string) (string, error) {
	if s, ok := v[name]; ok {
		return s, nil
	}
	return "", builtin.ErrSecretNotFound
}

// received is one request a receiver took.
type received struct {
	header http.Header
	body   []byte
	path   string
	query  string
}

// receiver is an HTTP server that records the requests it takes and answers each with the next
// of its statuses (the last one again once they run out).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	answer   func(r *http.Request) string // the body of an answer that is not a 2xx
	got      chan received
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses, got: make(chan received, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
		}
		rc.got <- received{header: r.Header.Clone(), body: body, path: r.URL.Path, query: r.URL.RawQuery}
		rc.mu.Lock()
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status = rc.statuses[0]
			if len(rc.statuses) > 1 {
				rc.statuses = rc.statuses[1:]
			}
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		if status >= 300 && rc.answer != nil {
			_, _ = w.Write([]byte(rc.answer(r)))
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next is the next request the receiver took.
func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the receiver got no request")
		return received{}
	}
}
