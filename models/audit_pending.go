package models

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// An audit entry is written in the transaction of the change it records, so that the change
// and its entry are stored together or not at all: no change without its entry after a crash,
// and no entry for a change that rolled back. The caller (the web layer, for a request) puts a
// PendingAudit in the context of the store call that makes the change; the store method that
// makes it writes the entry in its transaction (change), adding what only it knows: the fields
// before and after, a new job's id. When no transaction took it (a refused request, one that
// failed before it changed anything, or one made of many transactions, such as a bulk action,
// that Defers it), the caller appends the entry alone afterwards.

// PendingAudit is the audit entry of a change about to be made. Its methods are called by the
// goroutine that makes the change, or by one it waits for (a group commit), never at once.
type PendingAudit struct {
	// Entry is the entry as the caller knows it: who, from where, what, on what. The store
	// sets its outcome to AuditOK when it writes it with the change.
	Entry   AuditEntry
	details map[string]any
	// Complete, when set, is called in the change's transaction, after the change, to fill in
	// what is known only then (the id of a job just inserted).
	Complete func(*AuditEntry)
	deferred bool // written by the caller, after all of the request's changes
	written  bool
}

// Note adds to the entry: its target, when not empty, and fields of its details (AuditChange
// values for what changed). Never pass a secret's value.
func (p *PendingAudit) Note(target string, details map[string]any) {
	if p == nil {
		return
	}
	if target != "" {
		p.Entry.Target = target
	}
	if len(details) > 0 && p.details == nil {
		p.details = map[string]any{}
	}
	maps.Copy(p.details, details)
}

// Defer keeps the entry from being written by any transaction: the caller writes it once it
// knows the whole of what happened (a bulk action's counts).
func (p *PendingAudit) Defer() { p.deferred = true }

// open reports whether a change's transaction may still take the entry, and add to it: it is
// there, not written yet, and not deferred to its caller.
func (p *PendingAudit) open() bool { return p != nil && !p.written && !p.deferred }

// Written reports whether a change's transaction stored the entry.
func (p *PendingAudit) Written() bool { return p != nil && p.written }

// Final is the entry with its details, and outcome, for appending alone.
func (p *PendingAudit) Final(outcome string) *AuditEntry {
	e := p.Entry
	e.Details, e.Outcome = AuditDetails(p.details), outcome
	return &e
}

type pendingAuditKey struct{}

// WithPendingAudit returns ctx carrying p: the store method that makes the change writes p's
// entry in its transaction.
func WithPendingAudit(ctx context.Context, p *PendingAudit) context.Context {
	return context.WithValue(ctx, pendingAuditKey{}, []*PendingAudit{p})
}

// PendingAuditOf is the entry ctx carries (nil: none), for the caller to add to it.
func PendingAuditOf(ctx context.Context) *PendingAudit {
	if ps, _ := ctx.Value(pendingAuditKey{}).([]*PendingAudit); len(ps) == 1 {
		return ps[0]
	}
	return nil
}

// WithPendingAuditsOf returns ctx carrying the entries of all of from, for a group commit
// that writes the changes of many callers in one transaction.
func WithPendingAuditsOf(ctx context.Context, from ...context.Context) context.Context {
	var all []*PendingAudit
	for _, c := range from {
		ps, _ := c.Value(pendingAuditKey{}).([]*PendingAudit)
		all = append(all, ps...)
	}
	return context.WithValue(ctx, pendingAuditKey{}, all)
}

// hasPendingAudit reports whether ctx carries an entry a change's transaction may take.
func hasPendingAudit(ctx context.Context) bool {
	ps, _ := ctx.Value(pendingAuditKey{}).([]*PendingAudit)
	for _, p := range ps {
		if p.open() {
			return true
		}
	}
	return false
}

// AuditEnqueue makes the entry ctx carries, the enqueue of jobs someone made, name what was
// stored, once it is: "job 42" for one job, their number and kinds for more.
func AuditEnqueue(ctx context.Context, jobs []*Job) {
	p := PendingAuditOf(ctx)
	if p == nil || p.Complete != nil || len(jobs) == 0 {
		return
	}
	p.Complete = func(e *AuditEntry) {
		if len(jobs) == 1 {
			e.Target, e.Kind = fmt.Sprintf("job %d", jobs[0].ID), jobs[0].Kind
			return
		}
		var kinds []string
		for _, j := range jobs {
			if !slices.Contains(kinds, j.Kind) {
				kinds = append(kinds, j.Kind)
			}
		}
		slices.Sort(kinds)
		p.Note("", map[string]any{"jobs": len(jobs), "kinds": kinds})
	}
}

// noteChange adds fields to the details of the entry ctx carries, from inside a store method.
// An entry another transaction took, or one deferred to cover many changes, is left as it is.
func noteChange(ctx context.Context, target string, details map[string]any) {
	if p := PendingAuditOf(ctx); p.open() {
		p.Note(target, details)
	}
}

// change runs fn in one transaction and, when it succeeds, appends in the same transaction the
// audit entries ctx carries that no other transaction took. The entries count as written once
// it commits; when it rolls back, they lose the details fn noted (noteChange) of the change
// that did not happen.
func (s *conn) change(ctx context.Context, fn func(tx *gorm.DB) error) error {
	kept := pendingDetails(ctx)
	var took []*PendingAudit
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := fn(tx); err != nil {
			return err
		}
		var err error
		took, err = s.appendPendingTx(ctx, tx)
		return err
	})
	if err != nil {
		restoreDetails(ctx, kept)
		return err
	}
	markWritten(took)
	return nil
}

// pendingDetails are copies of the details of the entries ctx carries, for restoreDetails (nil:
// it carries none).
func pendingDetails(ctx context.Context) []map[string]any {
	ps, _ := ctx.Value(pendingAuditKey{}).([]*PendingAudit)
	if len(ps) == 0 {
		return nil
	}
	kept := make([]map[string]any, len(ps))
	for i, p := range ps {
		if p != nil {
			kept[i] = maps.Clone(p.details)
		}
	}
	return kept
}

// restoreDetails puts back the details pendingDetails kept of the entries ctx carries.
func restoreDetails(ctx context.Context, kept []map[string]any) {
	ps, _ := ctx.Value(pendingAuditKey{}).([]*PendingAudit)
	for i, p := range ps {
		if p != nil && !p.written && i < len(kept) {
			p.details = kept[i]
		}
	}
}

// noteKind names the kind of job the entry ctx carries is about, for the kind's page.
func noteKind(ctx context.Context, kind string) {
	if p := PendingAuditOf(ctx); p.open() {
		p.Entry.Kind = kind
	}
}

// insertNew inserts row in tx unless its name (a unique key) is taken: then it returns taken,
// the refusal to show. what names the row in an error.
func insertNew(tx *gorm.DB, row any, what string, taken error) error {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(row)
	if res.Error != nil {
		return fmt.Errorf("models: create %s: %w", what, res.Error)
	}
	if res.RowsAffected == 0 {
		return taken
	}
	return nil
}

// changeRows is change for one statement (stmt, run on the transaction), answering notFound when
// it touched no row; what names it in an error.
func (s *conn) changeRows(ctx context.Context, what string, notFound error, stmt func(tx *gorm.DB) *gorm.DB) error {
	return s.change(ctx, func(tx *gorm.DB) error {
		res := stmt(tx)
		if res.Error != nil {
			return fmt.Errorf("models: %s: %w", what, res.Error)
		}
		if res.RowsAffected == 0 {
			return notFound
		}
		return nil
	})
}

// appendPendingTx appends to the trail, in tx, the entries ctx carries that no transaction took
// yet, and returns them: the caller marks them written (markWritten) once tx commits. It goes
// last in a change's transaction, as it takes the audit lock (appendAuditTx).
func (s *conn) appendPendingTx(ctx context.Context, tx *gorm.DB) ([]*PendingAudit, error) {
	ps, _ := ctx.Value(pendingAuditKey{}).([]*PendingAudit)
	var take []*PendingAudit
	var entries []*AuditEntry
	for _, p := range ps {
		if !p.open() {
			continue
		}
		if p.Complete != nil {
			p.Complete(&p.Entry)
		}
		take, entries = append(take, p), append(entries, p.Final(AuditOK))
	}
	if len(entries) == 0 {
		return nil, nil
	}
	return take, s.appendAuditTx(tx, entries)
}

// markWritten records that the entries' transaction committed.
func markWritten(ps []*PendingAudit) {
	for _, p := range ps {
		p.written = true
	}
}

// auditDiff is what changed between before and after among fields (names of T's fields), by
// column name, as AuditChange values: the details of an entry. A nil before is a creation (each
// field's before is null), a nil after a removal. Pointers are compared, and shown, by what they
// point to.
func auditDiff[T any](before, after *T, fields ...string) map[string]any {
	out := map[string]any{}
	// field is v's field f, by what a pointer points to (invalid: v is nil, or the pointer is).
	field := func(v *T, f string) reflect.Value {
		if v == nil {
			return reflect.Value{}
		}
		fv := reflect.ValueOf(v).Elem().FieldByName(f)
		if fv.Kind() == reflect.Pointer {
			fv = fv.Elem()
		}
		return fv
	}
	shown := func(fv reflect.Value) any {
		if !fv.IsValid() {
			return nil
		}
		if d, ok := fv.Interface().(time.Duration); ok {
			return d.String()
		}
		return fv.Interface()
	}
	for _, f := range fields {
		b, a := field(before, f), field(after, f)
		if (before == nil && isZero(a)) || (after == nil && isZero(b)) {
			continue // made or removed: its empty fields say nothing
		}
		if bv, av := shown(b), shown(a); !reflect.DeepEqual(bv, av) {
			out[auditNaming.ColumnName("", f)] = AuditChange{Before: bv, After: av}
		}
	}
	return out
}

// isZero reports whether fv is absent or its type's zero value.
func isZero(fv reflect.Value) bool { return !fv.IsValid() || fv.IsZero() }

// auditNaming names a field in an entry's details as its column is named.
var auditNaming = schema.NamingStrategy{}
