package api

import "time"

// AuditEntry is one entry of the audit trail: who changed what, when, from where, and how it
// went. Hash chains it to the entry before (PrevHash); kiln audit verify checks the chain.
type AuditEntry struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor" doc:"A username, \"local\" (local access), or \"token NAME\"."`
	ActorKind  string         `json:"actor_kind" enum:"user,token,system"`
	TokenOwner string         `json:"token_owner,omitempty" doc:"The user the token belongs to, when it belongs to one."`
	IP         string         `json:"ip,omitempty"`
	UserAgent  string         `json:"user_agent,omitempty"`
	Action     string         `json:"action" doc:"What was done: the method and route (POST /dashboard/jobs/:id/requeue), login or logout."`
	Target     string         `json:"target,omitempty" doc:"What it was done to: job 42, recurring nightly, queue emails, secret db-password."`
	Kind       string         `json:"kind,omitempty" doc:"The kind of job the entry is about: the kind of the job changed, or the kind changed."`
	Details    map[string]any `json:"details,omitempty" doc:"The fields that changed, each as {before, after}, or facts such as a count. Never a secret's value."`
	Outcome    string         `json:"outcome" doc:"The HTTP status the request got (303, 403...), or ok/refused for a login."`
	PrevHash   string         `json:"prev_hash" doc:"The hash of the entry before (empty for the first ever)."`
	Hash       string         `json:"hash" doc:"SHA-256 of the entry's fields and prev_hash, hex."`
}

// AuditPage is a page of the audit trail, newest first.
type AuditPage struct {
	Entries []AuditEntry `json:"entries"`
	Next    string       `json:"next,omitempty" doc:"Pass as before= for the next (older) page; absent on the last page."`
}
