package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/audit"
	"github.com/kilnhq/kiln/models"
)

// maxExportLine bounds one line of an export: an entry is a few KB at most.
const maxExportLine = 1 << 20

// auditVerifyCommand is kiln audit verify: the chain on the database itself, and, given a copy
// kept elsewhere (an export, heads written down), that copy against the database.
func (e *cliEnv) auditVerifyCommand() *ffcli.Command {
	var (
		db, against string
		create      bool
		heads       []models.AuditHead
		retention   time.Duration
	)
	return e.leaf("verify", "kiln audit verify [--db PATH] [--against FILE|-] [--audit-retention D] [--head ID:HASH]...",
		"check the audit trail's chain of hashes, and name the first entry changed or removed (exit status 1)\n\n"+
			"It reads the database itself (as kiln serves with --db or KILN_DB), from the checkpoint retention left,\n"+
			"and prints the last entry's id and hash. Whoever can write the database can remove the newest entries,\n"+
			"or rewrite the chain and recompute its hashes, and the chain still verifies: keep a copy elsewhere and\n"+
			"check against it. --against compares an earlier kiln audit export with the database, --head an id and\n"+
			"hash written down; entries retention deleted since are not compared.",
		true, func(fs *flag.FlagSet) {
			storeFlags(fs, &db, &create)
			fs.StringVar(&against, "against", "", "also compare this `file`, an earlier kiln audit export (- for standard input), with the database")
			fs.DurationVar(&retention, "audit-retention", audit.DefaultRetention, "with --against: the --audit-retention kiln serves with; an exported entry younger than that which a checkpoint says retention deleted was removed (0: don't check)")
			fs.Func("head", "also check that an entry still has its hash: `ID:HASH`, as verify printed them (repeatable)", func(s string) error {
				h, err := parseAuditHead(s)
				if err == nil {
					heads = append(heads, h)
				}
				return err
			})
		}, func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			var exported []models.AuditEntry
			if against != "" {
				var err error
				if exported, err = e.readAuditExport(against); err != nil {
					return err
				}
			}
			store, err := e.openStore(ctx, db, create)
			if err != nil {
				return err
			}
			defer store.Close()
			v, err := store.Audit.VerifyAudit(ctx)
			if err != nil {
				return err
			}
			if v.BadID != 0 {
				return fmt.Errorf("the audit trail is broken at entry %d: %s (%d entries before it verified)", v.BadID, v.Problem, v.Checked)
			}
			var lines []string
			from := "from the first entry"
			if v.From != nil {
				from = fmt.Sprintf("from the checkpoint after entry %d (retention deleted %d on %s)", v.From.LastID, v.From.Deleted, v.From.At.Local().Format(time.DateTime))
			}
			lines = append(lines, fmt.Sprintf("The audit trail verifies: %d entries, %s.", v.Checked, from))
			if against != "" {
				var keptSince time.Time
				if retention > 0 {
					keptSince = time.Now().Add(-retention)
				}
				c, err := store.Audit.CompareAuditExport(ctx, exported, keptSince)
				if err != nil {
					return err
				}
				if c.BadID != 0 {
					return fmt.Errorf("%s (the chain alone verifies: %d entries)", c.Problem, v.Checked)
				}
				lines = append(lines, "The export matches: "+comparedText(c)+".")
			}
			if len(heads) > 0 {
				c, err := store.Audit.CompareAuditHeads(ctx, heads)
				if err != nil {
					return err
				}
				if c.BadID != 0 {
					return fmt.Errorf("%s (the chain alone verifies: %d entries)", c.Problem, v.Checked)
				}
				lines = append(lines, "The hashes given match: "+comparedText(c)+".")
			}
			switch {
			case v.LastID == 0:
				lines = append(lines, "Last entry: none yet.")
			case v.Checked == 0:
				lines = append(lines, fmt.Sprintf("Last entry: %d (retention deleted it), hash %s", v.LastID, v.LastHash))
			default:
				lines = append(lines, fmt.Sprintf("Last entry: %d, hash %s", v.LastID, v.LastHash))
			}
			_, err = fmt.Fprintln(e.out, strings.Join(lines, "\n"))
			return err
		})
}

// comparedText says how many entries of a copy were compared, and how many retention deleted.
func comparedText(c models.AuditComparison) string {
	s := fmt.Sprintf("%d entries compared", c.Compared)
	if c.Pruned > 0 {
		s += fmt.Sprintf(", %d more deleted by retention since (not compared)", c.Pruned)
	}
	return s
}

// parseAuditHead reads --head ID:HASH.
func parseAuditHead(s string) (models.AuditHead, error) {
	rawID, hash, ok := strings.Cut(s, ":")
	id, err := strconv.ParseInt(rawID, 10, 64)
	if !ok || err != nil || id < 1 {
		return models.AuditHead{}, fmt.Errorf("%q is not ID:HASH, an entry's id and hash as kiln audit verify prints them", s)
	}
	hash = strings.ToLower(hash)
	if !isAuditHash(hash) {
		return models.AuditHead{}, fmt.Errorf("%q: the hash is not a SHA-256 in hex (64 characters 0-9, a-f)", s)
	}
	return models.AuditHead{ID: id, Hash: hash}, nil
}

// isAuditHash says whether s is a hash as the audit trail writes them: SHA-256, lowercase hex.
func isAuditHash(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 64 && s == strings.ToLower(s)
}

// readAuditExport reads an export made by kiln audit export from path ("-": standard input):
// NDJSON, each line an entry as the API gives it. A file that is not one is a usage error
// naming the line.
func (e *cliEnv) readAuditExport(path string) ([]models.AuditEntry, error) {
	name, r := "standard input", e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: --against: %v", errUsage, err)
		}
		defer func() { _ = f.Close() }()
		name, r = path, f
	}
	if r == nil {
		r = strings.NewReader("")
	}
	var out []models.AuditEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxExportLine)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		entry, err := auditExportLine(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%w: --against: %s line %d is not an entry of kiln audit export: %v", errUsage, name, n, err)
		}
		out = append(out, entry)
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("%w: --against: %s has a line longer than %d bytes: it is not an export of kiln audit export", errUsage, name, maxExportLine)
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --against: %s holds no entries: give what kiln audit export wrote", errUsage, name)
	}
	return out, nil
}

// auditExportLine is one line of an export, as the database keeps the entry: the API's shape
// (api.AuditEntry) back into the model's. It needs what every entry has.
func auditExportLine(line []byte) (models.AuditEntry, error) {
	var a api.AuditEntry
	if err := json.Unmarshal(line, &a); err != nil {
		return models.AuditEntry{}, err
	}
	switch {
	case a.ID < 1:
		return models.AuditEntry{}, errors.New("it has no id")
	case !isAuditHash(a.Hash):
		return models.AuditEntry{}, errors.New("it has no hash (a SHA-256 in hex)")
	case a.At.IsZero() || a.Actor == "" || a.Action == "" || a.Outcome == "":
		return models.AuditEntry{}, errors.New("it lacks its time, actor, action or outcome")
	}
	m := models.AuditEntry{ID: a.ID, At: a.At, Actor: a.Actor, ActorKind: a.ActorKind, IP: a.IP, UserAgent: a.UserAgent,
		Action: a.Action, Target: a.Target, Outcome: a.Outcome, PrevHash: a.PrevHash, Hash: a.Hash}
	if a.TokenOwner != "" {
		m.TokenOwner = &a.TokenOwner
	}
	if len(a.Details) > 0 {
		b, err := json.Marshal(a.Details)
		if err != nil {
			return models.AuditEntry{}, fmt.Errorf("its details: %w", err)
		}
		m.Details = string(b)
	}
	return m, nil
}
