package models

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"

	"gorm.io/gorm"
)

// The chain alone shows an entry changed or removed in the middle, but not a chain rewritten
// from some entry on with every later hash recomputed, nor the newest entries removed: whoever
// can write the database can do either. A copy kept elsewhere can: an export (every field of
// each entry) or the last entry's id and hash written down (an AuditHead). The functions here
// compare such a copy with the database.

// AuditHead is an entry's id and hash as kept outside the database: VerifyAudit gives the last
// entry's (AuditVerification.LastID, LastHash), for an operator to write down.
type AuditHead struct {
	ID   int64
	Hash string
}

// AuditComparison is what comparing a copy of entries with the database found.
type AuditComparison struct {
	// Compared is how many entries of the copy were found as kept: in the database, or, for
	// the last one retention deleted, in its checkpoint.
	Compared int64
	// Pruned is how many retention deleted before the last one: they can't be compared any
	// more, and aren't.
	Pruned int64
	// BadID is the first entry (lowest id) that no longer matches the copy, 0 when all match;
	// Problem says how.
	BadID   int64
	Problem string
}

// auditCompareBatch is how many entries CompareAudit* read at a time (an IN list, well under
// SQLite's limit of bound parameters).
const auditCompareBatch = 500

// CompareAuditExport compares entries exported earlier (kiln audit export) with the database:
// each must still be there with the same hash and fields, unless retention deleted it (its id
// is at or below the last checkpoint's, which must hold the same hash when it is that id). It
// names the first that differs or is missing: the newest entries removed, or a chain rewritten
// with its hashes recomputed, show here though the chain verifies. keptSince, when not zero, is
// the oldest time retention keeps: an entry from then or later that a checkpoint says retention
// deleted was removed by someone else, who wrote the checkpoint too.
func (s auditStore) CompareAuditExport(ctx context.Context, exported []AuditEntry, keptSince time.Time) (AuditComparison, error) {
	return compareAudit(s.rdb.WithContext(ctx), exported, "the export", true, keptSince)
}

// CompareAuditHeads checks that each entry still has the hash written down, as
// CompareAuditExport does with the hash alone.
func (s auditStore) CompareAuditHeads(ctx context.Context, heads []AuditHead) (AuditComparison, error) {
	kept := make([]AuditEntry, len(heads))
	for i, h := range heads {
		kept[i] = AuditEntry{ID: h.ID, Hash: h.Hash}
	}
	return compareAudit(s.rdb.WithContext(ctx), kept, "the hash given", false, time.Time{})
}

// compareAudit compares kept, a copy named copyName in messages, with the database, in order of
// id so that the first problem found is the lowest; fields says whether the copy holds every
// field of its entries, or only ids and hashes.
func compareAudit(db *gorm.DB, kept []AuditEntry, copyName string, fields bool, keptSince time.Time) (AuditComparison, error) {
	var c AuditComparison
	kept = slices.Clone(kept)
	slices.SortStableFunc(kept, func(a, b AuditEntry) int { return cmp.Compare(a.ID, b.ID) })
	cp, err := lastAuditCheckpoint(db)
	if err != nil {
		return c, err
	}
	for start := 0; start < len(kept); start += auditCompareBatch {
		batch := kept[start:min(start+auditCompareBatch, len(kept))]
		ids := make([]int64, 0, len(batch))
		for _, k := range batch {
			ids = append(ids, k.ID)
		}
		var rows []AuditEntry
		if err := db.Where("id IN ?", ids).Find(&rows).Error; err != nil {
			return c, fmt.Errorf("models: read audit entries to compare: %w", err)
		}
		found := make(map[int64]*AuditEntry, len(rows))
		for i := range rows {
			found[rows[i].ID] = &rows[i]
		}
		for i := range batch {
			k := &batch[i]
			now := found[k.ID]
			if now == nil && (cp == nil || k.ID > cp.LastID) {
				// Retention may have pruned it since the checkpoint was read: checkpoints only
				// grow, so the newest one says.
				if cp, err = lastAuditCheckpoint(db); err != nil {
					return c, err
				}
			}
			var problem string
			switch {
			case now != nil:
				problem = auditEntryDiff(k, now, fields)
			case cp != nil && k.ID <= cp.LastID && !keptSince.IsZero() && !k.At.Before(keptSince):
				problem = fmt.Sprintf("it was removed: a checkpoint says retention deleted it, but it is from %s and retention keeps entries from %s on",
					k.At.UTC().Format(time.RFC3339), keptSince.UTC().Format(time.RFC3339))
			case cp != nil && k.ID < cp.LastID:
				c.Pruned++
				continue
			case cp != nil && k.ID == cp.LastID:
				if cp.LastHash != k.Hash {
					problem = fmt.Sprintf("retention deleted it, and its checkpoint holds hash %s, not %s", cp.LastHash, k.Hash)
				}
			default:
				tailID, _, err := auditTail(db)
				if err != nil {
					return c, err
				}
				problem = "it was removed"
				if k.ID > tailID {
					problem = fmt.Sprintf("it was removed (the trail now ends at entry %d)", tailID)
				}
			}
			if problem != "" {
				c.BadID, c.Problem = k.ID, fmt.Sprintf("entry %d no longer matches %s: %s", k.ID, copyName, problem)
				return c, nil
			}
			c.Compared++
		}
	}
	return c, nil
}

// auditEntryDiff says how the entry now in the database differs from the one kept: its hash,
// else (when the copy holds every field) the first field that differs; "" when none.
func auditEntryDiff(kept, now *AuditEntry, fields bool) string {
	if kept.Hash != now.Hash {
		return fmt.Sprintf("its hash was %s, now %s", kept.Hash, now.Hash)
	}
	if !fields {
		return ""
	}
	if !kept.At.Equal(now.At) {
		return fmt.Sprintf("its time was %s, now %s", kept.At.UTC().Format(time.RFC3339Nano), now.At.UTC().Format(time.RFC3339Nano))
	}
	owner := func(e *AuditEntry) string { // an export shows no owner and an empty one alike
		if e.TokenOwner == nil {
			return ""
		}
		return *e.TokenOwner
	}
	for _, f := range []struct{ name, was, is string }{
		{"actor", kept.Actor, now.Actor}, {"actor_kind", kept.ActorKind, now.ActorKind}, {"token_owner", owner(kept), owner(now)},
		{"ip", kept.IP, now.IP}, {"user_agent", kept.UserAgent, now.UserAgent}, {"action", kept.Action, now.Action},
		{"target", kept.Target, now.Target}, {"outcome", kept.Outcome, now.Outcome}, {"prev_hash", kept.PrevHash, now.PrevHash},
	} {
		if f.was != f.is {
			return fmt.Sprintf("its %s was %q, now %q", f.name, f.was, f.is)
		}
	}
	if !reflect.DeepEqual(auditDetailsValue(kept.Details), auditDetailsValue(now.Details)) {
		return fmt.Sprintf("its details were %s, now %s", kept.Details, now.Details)
	}
	return ""
}

// auditDetailsValue is what details hold, to compare two encodings of them: an export decodes
// and encodes them again (keys in another order, numbers in another form). Empty details and
// an empty object are the same; text that isn't JSON is compared as it is.
func auditDetailsValue(details string) any {
	if details == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(details), &v); err != nil {
		return details
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return nil
	}
	return v
}
