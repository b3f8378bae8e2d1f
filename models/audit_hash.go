package models

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"unicode/utf8"
)

// auditHash is an entry's hash: the hex SHA-256 of a JSON array of its fields, in a fixed
// order, ending with PrevHash, then Kind when it is set. A JSON array of strings and numbers has
// one encoding, so the hash is the same whoever computes it; the time is written in UTC to the
// microsecond, as both databases keep it. Kind came later: left out when empty, the array of an
// entry made before it is the one its hash was computed over, so that entry still verifies.
//
// The array is written as encoding/json's Marshal writes it (TestAuditHashEncodesAsJSON holds
// them to the same bytes), without Marshal's reflection and allocations: every one-job POST of
// the API appends an entry, hashed in its group commit's transaction.
func auditHash(e *AuditEntry) string {
	bp := hashBufs.Get().(*[]byte)
	b := append((*bp)[:0], '[')
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, ',')
	b = appendJSONString(b, e.At.UTC().Format("2006-01-02T15:04:05.000000Z"))
	owner := ""
	if e.TokenOwner != nil {
		owner = "\x00" + *e.TokenOwner // nil and "" hash apart
	}
	for _, f := range [...]string{e.Actor, e.ActorKind, owner, e.IP, e.UserAgent, e.Action, e.Target, e.Details, e.Outcome, e.PrevHash} {
		b = append(b, ',')
		b = appendJSONString(b, f)
	}
	if e.Kind != "" {
		b = append(b, ',')
		b = appendJSONString(b, e.Kind)
	}
	b = append(b, ']')
	sum := sha256.Sum256(b)
	*bp = b
	hashBufs.Put(bp)
	return hex.EncodeToString(sum[:])
}

var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendJSONString appends s as a JSON string, as encoding/json writes one (HTML escaping on):
// ", \ and the control characters escaped (\b, \f, \n, \r, \t by name, the others as \u00XX),
// <, > and & as \u003c, \u003e and \u0026, U+2028 and U+2029 as \u2028 and \u2029, and each
// byte of invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
