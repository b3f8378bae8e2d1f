package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// The audit hash's array is written byte for byte as encoding/json's Marshal writes it: the
// hashes of every entry stored so far were computed over Marshal's output, and still verify.
func TestAuditHashEncodesAsJSON(t *testing.T) {
	texts := []string{"", "plain", `quotes " and \ backslash`, "lines\nand\r\ttabs\b\f", "\x00\x01\x1f\x7f",
		"<script>&amp;</script>", "ünïcödé, 日本語, emoji 🙂", "\u2028 and \u2029", "bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		texts = append(texts, string(b))
	}
	for _, s := range texts {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q written as %s, json.Marshal writes %s", s, got, want)
		}
	}
	owner := "ops <team>"
	for i, s := range texts {
		e := &AuditEntry{ID: int64(i + 1), At: time.Date(2026, 12, 5, 20, 15, 0, 123456000, time.UTC), Actor: s,
			ActorKind: "token", TokenOwner: &owner, IP: "10.0.0.1", UserAgent: s, Action: "jobs.enqueue POST /api/v1/jobs",
			Target: "job 7", Details: `{"kind":"a"}`, Outcome: "ok", PrevHash: "9f2c", Kind: s}
		if i%2 == 0 {
			e.TokenOwner = nil
		}
		if got, want := auditHash(e), marshalledAuditHash(e); got != want {
			t.Fatalf("entry with %q hashes to %s, want %s", s, got, want)
		}
	}
}

// marshalledAuditHash is auditHash as it was first written, with json.Marshal.
func marshalledAuditHash(e *AuditEntry) string {
	owner := ""
	if e.TokenOwner != nil {
		owner = "\x00" + *e.TokenOwner
	}
	fields := []any{e.ID, e.At.UTC().Format("2006-01-02T15:04:05.000000Z"), e.Actor, e.ActorKind, owner,
		e.IP, e.UserAgent, e.Action, e.Target, e.Details, e.Outcome, e.PrevHash}
	if e.Kind != "" {
		fields = append(fields, e.Kind)
	}
	b, _ := json.Marshal(fields)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// BenchmarkAuditHash measures hashing one API enqueue's entry. go test -run '^$' -bench
// AuditHash -benchmem ./models/
func BenchmarkAuditHash(b *testing.B) {
	owner := "ops"
	e := &AuditEntry{ID: 123456, At: time.Now(), Actor: "token deploy", ActorKind: "token", TokenOwner: &owner,
		IP: "10.0.0.1", UserAgent: "Go-http-client/1.1", Action: "jobs.enqueue POST /api/v1/jobs", Target: "job 123456",
		Details: `{"kind":"emails"}`, Outcome: "ok", PrevHash: "9f2c4e5d6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d", Kind: "emails"}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			auditHash(e)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			marshalledAuditHash(e)
		}
	})
}
