package sqlite

// The finish: a batch of attempt outcomes, applied to the jobs still processing in that run.
// SQLite has no data-modifying WITH: the events are a statement of their own, and the count
// changes and stats are the core's (FinishParams.Record), in the same transaction.

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

const (
	// finishSQL applies a batch of outcomes ($1, a JSON array of driver.FinishRow) to the jobs
	// still Processing in that run (on that server, with that run count), and returns the ids it
	// changed. Each
	// outcome's JSON text is made once (MATERIALIZED), not once per field read from it. The unary
	// pluses keep the planner off the state index: it must walk the batch and look each job up
	// by id, not walk every processing job and scan the batch for it.
	finishSQL = `WITH r AS MATERIALIZED (SELECT value AS v FROM json_each($1))
UPDATE jobs SET state = f.state, lease_until = NULL, last_error = f.error, finished_at = f.finished_at,
	progress = CASE WHEN f.state = 'succeeded' THEN 100 ELSE jobs.progress END,
	result = CASE WHEN f.state = 'succeeded' THEN f.result ELSE jobs.result END,
	run_at = COALESCE(f.run_at, jobs.run_at), attempt = jobs.attempt - f.refund
FROM (SELECT v->>'id' AS id, v->>'state' AS state, v->>'error' AS error, v->>'finished_at' AS finished_at,
		v->>'result' AS result, v->>'run_at' AS run_at, v->>'refund' AS refund, v->>'server' AS server,
		v->>'run' AS run
	FROM r) AS f
WHERE jobs.id = f.id AND +jobs.state = 'processing' AND +jobs.server_id = f.server AND jobs.runs = f.run
RETURNING jobs.id, jobs.queue, jobs.kind`
	// finishEventsSQL records the outcomes in $1 (the applied ones only), except successes,
	// which the job's row tells (models.History).
	finishEventsSQL = `WITH r AS MATERIALIZED (SELECT value AS v FROM json_each($1))
INSERT INTO job_events (job_id, from_state, to_state, at, attempt, server_id, reason, error, duration)
SELECT v->>'id', 'processing', v->>'state', v->>'at', v->>'attempt', v->>'server', v->>'reason', v->>'error', v->>'duration'
FROM r WHERE v->>'state' <> 'succeeded'`
)

// Finish runs finishSQL, then finishEventsSQL over the outcomes applied, then p.Record (the
// counts and stats), in tx.
func (h *hotPath) Finish(tx *gorm.DB, p driver.FinishParams) ([]driver.Finished, error) {
	stx, err := driver.SQLTx(tx)
	if err != nil {
		return nil, err
	}
	ctx := tx.Statement.Context
	res, err := stx.StmtContext(ctx, h.finish).QueryContext(ctx, p.JSON)
	if err != nil {
		return nil, err
	}
	var applied []driver.Applied
	for res.Next() {
		var a driver.Applied
		if err := res.Scan(&a.ID, &a.Queue, &a.Kind); err != nil {
			_ = res.Close()
			return nil, fmt.Errorf("read finished job: %w", err)
		}
		applied = append(applied, a)
	}
	if err := res.Close(); err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	if len(applied) == 0 {
		return nil, nil
	}
	events := p.JSON
	if len(applied) < len(p.Outcomes) {
		at := make(map[int64]int, len(p.Outcomes))
		for i, o := range p.Outcomes {
			at[o.ID] = i
		}
		done := make([]driver.FinishRow, len(applied))
		for i, a := range applied {
			done[i] = p.Outcomes[at[a.ID]]
		}
		if events, err = driver.EncodeFinish(done); err != nil {
			return nil, err
		}
	}
	if _, err := stx.StmtContext(ctx, h.finishEvents).ExecContext(ctx, events); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if err := p.Record(tx, applied); err != nil {
		return nil, err
	}
	out := make([]driver.Finished, len(applied))
	for i, a := range applied {
		out[i] = a.Finished
	}
	return out, nil
}
