package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache keeps InsertRows's statements, one per table and columns, prepared on the writer
// pool when the store opens (PrepareInsertRows): SQLite parsed and planned them again at every
// call, 16% of the CPU of one-job POSTs, whose shared transaction appends an audit entry and an
// event (go test -bench 'APIEnqueue/sqlite/one-32' -cpuprofile ./web/). They are prepared
// there, outside any transaction: the writer pool has one connection, so a statement prepared
// on the pool from inside a transaction would wait for that transaction to end. (A statement
// not cached here is prepared on the transaction itself, and closed with it.)
type stmtCache struct {
	mu     sync.Mutex
	byText map[string]*sql.Stmt
}

// prepare prepares text on db, once.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byText[text]; ok {
		return nil
	}
	st, err := db.PrepareContext(ctx, text)
	if err != nil {
		return err
	}
	if c.byText == nil {
		c.byText = map[string]*sql.Stmt{}
	}
	c.byText[text] = st
	return nil
}

// lookup returns the statement of text, or nil when it was not prepared.
func (c *stmtCache) lookup(text string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byText[text]
}

// close closes every statement.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.byText {
		errs = append(errs, st.Close())
	}
	c.byText = nil
	return errors.Join(errs...)
}
