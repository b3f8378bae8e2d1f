package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// pgCopier writes a batch with COPY, one per table, in one transaction.
type pgCopier struct{ db *gorm.DB }

func (c pgCopier) copyBatch(ctx context.Context, b *historyBatch) error {
	sqlDB, err := c.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy: a %T is not a pgx connection", dc)
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		for _, t := range historyTables(b) {
			if len(t.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
		}
		return tx.Commit(ctx)
	})
}

// historyTable is a table's rows of a batch.
type historyTable struct {
	name    string
	columns []string
	rows    [][]any
}

func historyTables(b *historyBatch) []historyTable {
	return []historyTable{
		{"jobs", historyJobColumns, b.jobs},
		{"job_events", historyEventColumns, b.events},
		{"job_logs", historyLogColumns, b.logs},
		{"job_tags", historyTagColumns, b.tags},
	}
}

// sqliteInserter writes a batch in one transaction, with INSERTs of many rows each through a
// statement prepared once per table.
type sqliteInserter struct{ db *gorm.DB }

// sqliteRowsPerInsert keeps an INSERT's parameters (26 a job) under SQLite's limit of 32,766.
const sqliteRowsPerInsert = 500

func (c sqliteInserter) copyBatch(ctx context.Context, b *historyBatch) error {
	sqlDB, err := c.db.DB()
	if err != nil {
		return err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range historyTables(b) {
		if err := insertRows(ctx, tx, t); err != nil {
			return fmt.Errorf("insert %s: %w", t.name, err)
		}
	}
	return tx.Commit()
}

// insertRows inserts t's rows, sqliteRowsPerInsert a statement.
func insertRows(ctx context.Context, tx *sql.Tx, t historyTable) error {
	var full *sql.Stmt
	for rows := t.rows; len(rows) > 0; {
		n := min(len(rows), sqliteRowsPerInsert)
		args := make([]any, 0, n*len(t.columns))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		var err error
		if n < sqliteRowsPerInsert {
			_, err = tx.ExecContext(ctx, insertSQL(t, n), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(t, n)); err != nil {
					return err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertSQL is an INSERT of n rows of t.
func insertSQL(t historyTable, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(t.columns)), ",") + ")"
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", t.name, strings.Join(t.columns, ", "),
		strings.TrimSuffix(strings.Repeat(row+",", n), ","))
}
