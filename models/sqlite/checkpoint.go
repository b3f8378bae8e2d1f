package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SQLite copies the write-ahead log back into the database (a checkpoint) from inside a commit
// once the log passes 1,000 pages, and syncs the files to disk as it does: the commit that
// trips it waits for that, which was nearly all of the pickup latency's 99th percentile. Kiln's
// writer connection leaves checkpoints to a goroutine on a connection of its own instead, which
// copies the log in the background without blocking the writer (PASSIVE). The writer still
// checkpoints by itself past checkpointFallback pages, should the goroutine ever fall behind.

// sqliteWriterDriver is go-sqlite3 with the writer's connection settings.
const sqliteWriterDriver = "sqlite3_kiln_writer"

const (
	checkpointEvery    = 100 * time.Millisecond
	checkpointFallback = 16384 // pages: 64 MiB of log
)

var registerWriterDriver sync.Once

func writerDriver() string {
	registerWriterDriver.Do(func() {
		sql.Register(sqliteWriterDriver, &sqlite3.SQLiteDriver{
			ConnectHook: func(c *sqlite3.SQLiteConn) error {
				_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", checkpointFallback), nil)
				return err
			},
		})
	})
	return sqliteWriterDriver
}

// checkpointer runs PASSIVE checkpoints every checkpointEvery until stopped.
type checkpointer struct {
	db   *sql.DB
	stop context.CancelFunc
	done chan struct{}
}

func startCheckpointer(uri string) (*checkpointer, error) {
	db, err := sql.Open("sqlite3", uri)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, stop: stop, done: make(chan struct{})}
	go c.loop(ctx)
	return c, nil
}

func (c *checkpointer) loop(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A failure (a busy lock, say) is harmless: the next tick tries again, and the writer
		// checkpoints by itself past the fallback.
		_, _ = c.db.ExecContext(context.WithoutCancel(ctx), "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.db.Close()
}
