package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// AuditFilter chooses entries of the audit trail. Empty fields choose everything.
type AuditFilter struct {
	Actor  string // exactly this actor ("ada", "token ci-deploy")
	Action string // actions starting with this ("login", "POST /dashboard/jobs")
	Target string // exactly this target ("job 42")
	Kind   string // exactly this kind of job ("emails")
	// KindOrTarget, with both Kind and Target given, chooses the entries matching either, not
	// both: a kind's page lists those about its jobs (kind) and about the kind itself (target
	// "kind emails", which entries made before kind existed have alone).
	KindOrTarget bool
	// Since and Until bound the entries' times: Since included, Until not.
	Since, Until time.Time
}

// AuditPage is a page of entries, newest first, with whether there are more either side.
type AuditPage struct {
	Entries            []AuditEntry
	HasNewer, HasOlder bool
}

// MaxAuditPage is the most entries one page holds.
const MaxAuditPage = 1000

// ListAudit pages the entries matching f, newest first: those before the id before, or after
// the id after (0: from the newest), at most limit (1 to MaxAuditPage).
func (s auditStore) ListAudit(ctx context.Context, f AuditFilter, before, after int64, limit int) (AuditPage, error) {
	var page AuditPage
	if limit < 1 || limit > MaxAuditPage {
		return page, Errorf(EINVALID, "A page holds 1 to %d entries, not %d.", MaxAuditPage, limit)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return page, &Error{Code: EINVALID, Message: "The time range is empty.", Fields: map[string]string{"until": "Until must be after since."}}
	}
	for field, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target, "kind": f.Kind} {
		if !storableText(v) {
			return page, &Error{Code: EINVALID, Message: "The filter is not valid.", Fields: map[string]string{field: "Text without NUL bytes, in UTF-8."}}
		}
	}
	q := s.rdb.WithContext(ctx).Model(&AuditEntry{})
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action LIKE ? ESCAPE '\\'", escapeLike(f.Action)+"%")
	}
	switch {
	case f.KindOrTarget && f.Kind != "" && f.Target != "":
		q = q.Where("(kind = ? OR target = ?)", f.Kind, f.Target)
	default:
		if f.Target != "" {
			q = q.Where("target = ?", f.Target)
		}
		if f.Kind != "" {
			q = q.Where("kind = ?", f.Kind)
		}
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until.UTC())
	}
	pageQ := q.Session(&gorm.Session{})
	switch {
	case after > 0:
		pageQ = pageQ.Where("id > ?", after).Order("id")
	case before > 0:
		pageQ = pageQ.Where("id < ?", before).Order("id DESC")
	default:
		pageQ = pageQ.Order("id DESC")
	}
	if err := pageQ.Limit(limit + 1).Find(&page.Entries).Error; err != nil {
		return page, fmt.Errorf("models: list audit entries: %w", err)
	}
	more := len(page.Entries) > limit
	if more {
		page.Entries = page.Entries[:limit]
	}
	if after > 0 {
		slices.Reverse(page.Entries)
		page.HasNewer, page.HasOlder = more, true
	} else {
		page.HasNewer, page.HasOlder = before > 0, more
	}
	return page, nil
}

// AuditVerification is what VerifyAudit found.
type AuditVerification struct {
	// Checked is how many entries were checked; From the checkpoint the chain was checked from
	// (nil: from the first entry ever).
	Checked int64
	From    *AuditCheckpoint
	// BadID is the first entry found changed, or the first after entries found removed (0:
	// the chain is whole); Problem says what is wrong there.
	BadID   int64
	Problem string
	// LastID and LastHash are the entry the chain ends at when it is whole: the last entry, or
	// the last one retention deleted when none is left (0 and "": the trail is empty). Kept
	// elsewhere, they show later whether the newest entries were removed (CompareAuditHeads).
	LastID   int64
	LastHash string
}

// auditVerifyBatch is how many entries VerifyAudit reads at a time.
const auditVerifyBatch = 1000

// VerifyAudit checks the chain from the last checkpoint (or the first entry): that each
// entry's hash matches its fields, that its prev_hash is the hash of the one before, and that
// no id is missing. It stops at the first problem. Removing the newest entries, or rewriting
// the chain from some entry on with every hash recomputed, leaves a chain that verifies: only a
// copy kept outside the database shows those (CompareAuditExport, CompareAuditHeads).
func (s auditStore) VerifyAudit(ctx context.Context) (AuditVerification, error) {
	db := s.rdb.WithContext(ctx)
	for attempt := 0; ; attempt++ {
		v, err := verifyAudit(db)
		if err != nil || v.BadID == 0 || attempt == 2 {
			return v, err
		}
		// Retention may have pruned meanwhile (each batch reads apart, not in one snapshot:
		// SQLite's readers can't open one): a newer checkpoint means check again from it.
		cp, err := lastAuditCheckpoint(db)
		if err != nil {
			return v, err
		}
		if cp == nil || (v.From != nil && cp.ID == v.From.ID) {
			return v, nil
		}
	}
}

func verifyAudit(db *gorm.DB) (AuditVerification, error) {
	var v AuditVerification
	cp, err := lastAuditCheckpoint(db)
	if err != nil {
		return v, err
	}
	v.From = cp
	prevID, prevHash := int64(0), ""
	if cp != nil {
		prevID, prevHash = cp.LastID, cp.LastHash
	}
	for {
		var batch []AuditEntry
		if err := db.Where("id > ?", prevID).Order("id").Limit(auditVerifyBatch).Find(&batch).Error; err != nil {
			return v, fmt.Errorf("models: read audit entries: %w", err)
		}
		for i := range batch {
			e := &batch[i]
			if bad, problem := auditLinkProblem(e, prevID, prevHash, v.Checked == 0 && cp != nil); problem != "" {
				v.BadID, v.Problem = bad, problem
				return v, nil
			}
			v.Checked++
			prevID, prevHash = e.ID, e.Hash
		}
		if len(batch) < auditVerifyBatch {
			v.LastID, v.LastHash = prevID, prevHash
			return v, nil
		}
	}
}

// auditLinkProblem says what is wrong with e, coming after the entry prevID whose hash is
// prevHash (the checkpoint's, when afterCheckpoint), and the id of the first entry it is wrong
// at; "" when nothing is.
func auditLinkProblem(e *AuditEntry, prevID int64, prevHash string, afterCheckpoint bool) (int64, string) {
	switch {
	case auditHash(e) != e.Hash:
		return e.ID, fmt.Sprintf("entry %d was changed: its hash does not match its fields", e.ID)
	case e.ID != prevID+1:
		gap := fmt.Sprintf("the trail goes from entry %d to entry %d", prevID, e.ID)
		if prevID == 0 {
			gap = fmt.Sprintf("the trail starts at entry %d, and no checkpoint says retention deleted what came before", e.ID)
		}
		if e.ID == prevID+2 {
			return prevID + 1, fmt.Sprintf("entry %d was removed: %s", prevID+1, gap)
		}
		return prevID + 1, fmt.Sprintf("entries %d to %d were removed: %s", prevID+1, e.ID-1, gap)
	case e.PrevHash == prevHash:
		return 0, ""
	case afterCheckpoint:
		return e.ID, fmt.Sprintf("entry %d was changed: its prev_hash is not the checkpoint's hash of entry %d, the last one retention deleted", e.ID, prevID)
	case prevID == 0:
		return e.ID, fmt.Sprintf("entry %d was changed: it is the first entry, but its prev_hash is not empty", e.ID)
	}
	return prevID, fmt.Sprintf("entry %d was changed and its hash recomputed: entry %d's prev_hash is not its hash", prevID, e.ID)
}
