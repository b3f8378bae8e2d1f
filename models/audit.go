package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// AuditEntry is one change made by a person or a token, as the audit trail keeps it. Entries
// form a chain: PrevHash is the Hash of the entry before (or of the checkpoint retention left,
// or "" for the first entry ever), and Hash is the SHA-256 of the entry's fields and PrevHash
// (auditHash), so that changing or removing an entry breaks the chain at that entry.
type AuditEntry struct {
	// ID is one more than the last entry's, given under the append lock: the ids have no gaps
	// but those of removed entries.
	ID int64 `gorm:"primaryKey;autoIncrement:false"`
	At time.Time
	// Actor is who acted: a username, "token NAME", or "system"; ActorKind says which
	// (AuditActor*). TokenOwner is the user a token belongs to (nil for a token made
	// before tokens had owners).
	Actor      string
	ActorKind  string
	TokenOwner *string
	// IP and UserAgent say where the request came from (the client's address as the server
	// reads it, behind trusted proxies too).
	IP        string
	UserAgent string
	// Action is what was done (e.g. "POST /dashboard/jobs/:id/retry", "login"), Target what
	// it was done to ("job 42", "recurring nightly"), Details a short JSON of the fields that
	// changed (AuditDetails), and Outcome how it went: an HTTP status, or AuditOK/AuditRefused.
	Action  string
	Target  string
	Details string
	Outcome string
	// Kind is the kind of job the entry is about, when it is about one kind ("emails" for a
	// change to job 42 of kind emails, or to the kind emails itself), so that a kind's page
	// finds the entries about its jobs; "" otherwise, and in entries made before it existed.
	Kind string
	// PrevHash and Hash chain the entries (hex SHA-256).
	PrevHash string
	Hash     string
}

// TableName names AuditEntry's table.
func (AuditEntry) TableName() string { return "audit_entries" }

// The kinds of actor.
const (
	AuditActorUser   = "user"   // a person logged in, or local access
	AuditActorToken  = "token"  // an API token
	AuditActorSystem = "system" // Kiln itself (retention)
)

// Outcomes of an entry that is not an HTTP request's.
const (
	AuditOK      = "ok"
	AuditRefused = "refused"
)

// maxAuditDetails bounds an entry's details (bytes of JSON); maxAuditValue one value in them.
const (
	maxAuditDetails = 2000
	maxAuditValue   = 200
)

// AuditChange is one field's value before and after a change, for an entry's details.
type AuditChange struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// AuditDetails encodes an entry's details: the fields given (AuditChange values for what
// changed, plain values for facts such as a bulk action's count), keys sorted. A value whose
// JSON is longer than maxAuditValue is cut to a string of that length, and fields that would
// take the whole past maxAuditDetails are left out and counted under "_more", so that an entry
// stays short whatever is passed. Never pass a secret's value.
func AuditDetails(fields map[string]any) string {
	if len(fields) == 0 {
		return ""
	}
	capped := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			b, _ = json.Marshal(fmt.Sprint(v))
		}
		if len(b) > maxAuditValue {
			b, _ = json.Marshal(truncate(strings.ToValidUTF8(string(b), ""), maxAuditValue))
		}
		capped[k] = b
	}
	for {
		b, _ := json.Marshal(capped) // map keys sorted: one encoding per content
		if len(b) <= maxAuditDetails || len(capped) <= 1 {
			return string(b)
		}
		longest := ""
		for k, v := range capped {
			if k != "_more" && (longest == "" || len(v) > len(capped[longest])) {
				longest = k
			}
		}
		delete(capped, longest)
		var more int
		_ = json.Unmarshal(capped["_more"], &more)
		capped["_more"], _ = json.Marshal(more + 1)
	}
}

// AuditCheckpoint is what retention leaves of the entries it deletes: the id and hash of the
// last one, from which the remaining chain verifies.
type AuditCheckpoint struct {
	ID       int64 `gorm:"primaryKey"`
	At       time.Time
	LastID   int64
	LastHash string
	Deleted  int64
}

// TableName names AuditCheckpoint's table.
func (AuditCheckpoint) TableName() string { return "audit_checkpoints" }

// AppendAudit adds the entries to the end of the chain, in order, in one transaction, setting
// each one's ID, At (when zero), PrevHash and Hash. One entry refused refuses them all.
func (s auditStore) AppendAudit(ctx context.Context, entries ...*AuditEntry) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return s.appendAuditTx(tx, entries) })
}

// appendAuditTx is AppendAudit inside tx. The last entry's hash is read under the driver's
// audit lock in tx, the transaction of the inserts, so two nodes appending at once never both
// chain onto the same entry. The lock is taken last in a change's transaction (change) and held
// to its commit: no transaction waits for another lock while holding it.
func (s *conn) appendAuditTx(tx *gorm.DB, entries []*AuditEntry) error {
	for _, e := range entries {
		if err := prepareAuditEntry(e); err != nil {
			return err
		}
	}
	if err := s.drv.LockAudit(tx); err != nil {
		return err
	}
	lastID, lastHash, err := s.auditTailTx(tx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		e.ID, e.PrevHash = lastID+1, lastHash
		e.Hash = auditHash(e)
		lastID, lastHash = e.ID, e.Hash
	}
	// A statement of a fixed text (insertRows): GORM's multi-row INSERT had a text per number
	// of rows, parsed again at every group commit of the API's one-job POSTs, each of which is
	// audited.
	rows := make([]AuditEntry, len(entries))
	for i, e := range entries {
		rows[i] = *e
	}
	if err := insertRows(s, tx, rows); err != nil {
		return fmt.Errorf("models: append audit entries: %w", err)
	}
	return nil
}

// prepareAuditEntry bounds e's fields as the columns do, and refuses an entry that can't be
// kept whole.
func prepareAuditEntry(e *AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	e.Actor, e.IP, e.UserAgent = headerText(e.Actor, 128), headerText(e.IP, 64), headerText(e.UserAgent, 255)
	e.Action, e.Target, e.Outcome = headerText(e.Action, 200), headerText(e.Target, 200), headerText(e.Outcome, 16)
	if kind, ok := strings.CutPrefix(e.Target, "kind "); ok && e.Kind == "" {
		e.Kind = kind // an entry about a kind is about its jobs too: the kind's page lists it
	}
	e.Kind = headerText(e.Kind, jobKindMax)
	if e.TokenOwner != nil {
		owner := headerText(*e.TokenOwner, 64)
		e.TokenOwner = &owner
	}
	if len(e.Details) > maxAuditDetails {
		return fmt.Errorf("models: audit entry details are %d bytes, more than %d (use AuditDetails)", len(e.Details), maxAuditDetails)
	}
	if e.Actor == "" || e.Action == "" || e.Outcome == "" {
		return errors.New("models: an audit entry needs an actor, an action and an outcome")
	}
	return nil
}

// auditTailTx is auditTail in tx, the last entry read with a statement prepared when the store
// opened: GORM built and SQLite prepared the read anew at each group commit of the API's
// enqueues, 5 µs a job of the writer's time (go test -bench 'APIEnqueue/sqlite/one-32' ./web/).
func (s *conn) auditTailTx(tx *gorm.DB) (int64, string, error) {
	st, ctx, err := txStmt(tx, s.hot.auditTail)
	if err != nil {
		return 0, "", err
	}
	return auditTailOf(tx, st.QueryRowContext(ctx))
}

// auditTail is the id and hash the next entry chains onto: the last entry's, else the last
// checkpoint's (retention deleted every entry), else 0 and "".
func auditTail(db *gorm.DB) (int64, string, error) {
	return auditTailOf(db, db.Raw(auditTailSQL).Row())
}

// auditTailOf is auditTail with the last entry read as row (auditTailSQL).
func auditTailOf(db *gorm.DB, row *sql.Row) (int64, string, error) {
	var id int64
	var hash string
	err := row.Scan(&id, &hash)
	if err == nil {
		return id, hash, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("models: read the audit trail's last entry: %w", err)
	}
	cp, err := lastAuditCheckpoint(db)
	if err != nil || cp == nil {
		return 0, "", err
	}
	return cp.LastID, cp.LastHash, nil
}

// lastAuditCheckpoint is the newest checkpoint, or nil when retention never deleted anything.
func lastAuditCheckpoint(db *gorm.DB) (*AuditCheckpoint, error) {
	var cp AuditCheckpoint
	err := db.Order("last_id DESC").Limit(1).Take(&cp).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("models: read the audit checkpoint: %w", err)
	}
	return &cp, nil
}

// PruneAudit deletes the entries made before before, oldest first, at most batch at a time,
// until none is left; it returns how many it deleted. Each batch first records a checkpoint
// with the id and hash of the last entry it deletes, in the same transaction and under the
// append lock, so that the chain left verifies from the checkpoint.
func (s auditStore) PruneAudit(ctx context.Context, before time.Time, batch int) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := s.drv.LockAudit(tx); err != nil {
				return err
			}
			var old []AuditEntry
			if err := tx.Select("id", "hash").Where("at < ?", before.UTC()).Order("id").Limit(batch).Find(&old).Error; err != nil {
				return fmt.Errorf("models: find old audit entries: %w", err)
			}
			if len(old) == 0 {
				return nil
			}
			last := old[len(old)-1]
			// Entries are appended in about their time order (an entry's time is its request's
			// start, and requests on several nodes, or two group commits, append in the order
			// they commit), so every entry up to last is old, give or take the length of a
			// request; deleting by id keeps the chain whole, even if a clock stepped back.
			cp := AuditCheckpoint{At: time.Now().UTC().Truncate(time.Microsecond), LastID: last.ID, LastHash: last.Hash, Deleted: int64(len(old))}
			if err := tx.Create(&cp).Error; err != nil {
				return fmt.Errorf("models: record audit checkpoint: %w", err)
			}
			res := tx.Where("id <= ?", last.ID).Delete(&AuditEntry{})
			if res.Error != nil {
				return fmt.Errorf("models: delete old audit entries: %w", res.Error)
			}
			n = res.RowsAffected
			return tx.Where("id < ?", cp.ID).Delete(&AuditCheckpoint{}).Error // only the newest is read
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}
