package builtin

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchSecrets are five secrets of the usual kinds.
var benchSecrets = fixedSecrets{
	"api": "sk_live_51HxQ-0f9e8d7c6b5a", "db": "correct horse battery staple", "user": "Us3r&Na=me@x",
	"pem": "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu", "short": "x9!k",
}

// benchRevealer has the five secrets revealed, and a header built with one of them.
func benchRevealer(b *testing.B) *revealer {
	b.Helper()
	rv := newRevealer(context.Background(), benchSecrets)
	for _, ref := range []string{"${secret:api}", "${secret:db}", "${secret:user}", "${secret:pem}", "${secret:short}", "Bearer ${secret:api}"} {
		if _, err := rv.expand(ref, nil); err != nil {
			b.Fatal(err)
		}
	}
	return rv
}

// benchText is about n bytes of log-like lines, with a secret in one line of every secretEvery
// (none when 0).
func benchText(n, secretEvery int) string {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"GET", "/api/v1/items", "200", "ok", "user", "id=", "took", "ms", "request", "sk_live", "correct", "Us3r", "0f9e8d", "MIIB", "x9"}
	var b strings.Builder
	for line := 1; b.Len() < n; line++ {
		for range 12 {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		if secretEvery > 0 && line%secretEvery == 0 {
			b.WriteString(benchSecrets["api"])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// jsonLines is text with each line a JSON object, written as PHP's json_encode does (every /
// as \/): text with a backslash every few bytes, that masking also reads as JSON.
func jsonLines(text string) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = `{"line":"` + jsonEncoders[0].encode(l) + `"}`
	}
	return strings.Join(lines, "\n") + "\n"
}

// BenchmarkMask masks a 1 MB body without secrets and with one every 40 lines (about 4 kB),
// the same as JSON lines, and one line of 100 bytes, with five secrets revealed; and builds
// the masker.
func BenchmarkMask(b *testing.B) {
	rv := benchRevealer(b)
	for _, tc := range []struct {
		name string
		text string
	}{{"1MB", benchText(1<<20, 0)}, {"1MB_secrets", benchText(1<<20, 40)}, {"1MB_json", jsonLines(benchText(1<<20, 40))}, {"line", benchText(100, 0)}} {
		rv.mask(tc.text) // the masker is built once per revealed set, not in the loop
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				rv.mask(tc.text)
			}
		})
	}
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			rv.mu.Lock()
			rv.masker = nil
			rv.mu.Unlock()
			rv.mask("x")
		}
	})
}

// BenchmarkLineWindow takes a program's output a line at a time through the window.
func BenchmarkLineWindow(b *testing.B) {
	lines := strings.Split(benchText(1<<20, 40), "\n")
	w := lineWindow{m: benchRevealer(b).currentMasker()}
	b.SetBytes(1 << 20)
	for b.Loop() {
		for _, l := range lines {
			w.push(heldLine{text: l})
		}
		w.flush()
	}
}
