package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// requireFieldError checks err is an EINVALID error whose field says what.
func requireFieldError(t *testing.T, err error, field, says string) {
	t.Helper()
	require.Equal(t, models.EINVALID, models.ErrorCode(err), "%v", err)
	require.Contains(t, models.FieldErrors(err)[field], says, "%v", err)
}

// Names refuse control characters (line breaks, tabs), bidi controls, invisible format
// characters (zero-width spaces, word joiners, byte order marks), Unicode line and paragraph
// separators and spaces other than the plain one, with a message naming the field, on every
// way in: "default\u2060" looks like "default" and is another queue.
func TestNamesRefuseControlAndBidiCharacters(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e := newEngine(t, s, fast())
	for _, bad := range []string{"a\nb", "a\tb", "a\u202Eb", "a\u2066b", "a\u061Cb", "a\u200Fb", "a\x7fb", "a\u0085b",
		"a\u200Bb", "a\u2060b", "a\uFEFFb", "a\u00ADb", "a\u2028b", "a\u2029b", "a\u00A0b", "a\u3000b", "a\u202Fb"} {
		_, err := e.Enqueue(ctx, bad, nil)
		requireFieldError(t, err, "kind", "A kind may not hold")
		_, err = e.Enqueue(ctx, "k", nil, jobs.Queue(bad))
		requireFieldError(t, err, "queue", "A queue's name may not hold")
		_, err = e.Enqueue(ctx, "k", nil, jobs.Tags("ok", bad))
		requireFieldError(t, err, "tags", "A tag may not hold")
		_, err = e.CreateRecurring(ctx, bad, "@hourly", "k", nil)
		requireFieldError(t, err, "name", "A recurring job's name may not hold")
		_, err = e.CreateRecurring(ctx, "r", "@hourly", bad, nil)
		requireFieldError(t, err, "kind", "A kind may not hold")
		_, err = e.CreateRecurring(ctx, "r", "@hourly", "k", nil, jobs.Queue(bad))
		requireFieldError(t, err, "queue", "A queue's name may not hold")
		require.ErrorIs(t, e.Register(bad, func(context.Context, *models.Job) error { return nil }), jobs.ErrInvalidOption)
		_, err = jobs.ParseQueues(bad + "=1")
		require.ErrorIs(t, err, jobs.ErrInvalidConfig)
		require.Equal(t, models.EINVALID, models.ErrorCode(s.Queues.SetQueuePaused(ctx, bad, true, "test")))
	}
	_, err := e.Enqueue(ctx, "a\u202Eb", nil)
	require.Contains(t, models.ErrorMessage(err), `"a\u202eb" holds U+202E`, "the message shows the character it refuses")
	require.Contains(t, models.ErrorMessage(err), "bidi controls")
	_, err = e.Enqueue(ctx, "a\nb", nil)
	require.Contains(t, models.ErrorMessage(err), "line breaks")
	_, err = e.Enqueue(ctx, "a\u2028b", nil)
	require.Contains(t, models.ErrorMessage(err), "line breaks")
	_, err = e.Enqueue(ctx, "report\u200b", nil)
	require.Contains(t, models.ErrorMessage(err), `"report\u200b" holds U+200B`)
	require.Contains(t, models.ErrorMessage(err), "invisible")
	_, err = e.Enqueue(ctx, "k", nil, jobs.Queue("default\u00a0"))
	require.Contains(t, models.ErrorMessage(err), "spaces other than")

	// "." and ".." make a link such as /dashboard/queues/../pause lead elsewhere.
	for _, dots := range []string{".", ".."} {
		_, err := e.Enqueue(ctx, dots, nil)
		requireFieldError(t, err, "kind", `may not be "." or ".."`)
		_, err = e.Enqueue(ctx, "k", nil, jobs.Queue(dots))
		requireFieldError(t, err, "queue", `may not be "." or ".."`)
		_, err = e.CreateRecurring(ctx, dots, "@hourly", "k", nil)
		requireFieldError(t, err, "name", `may not be "." or ".."`)
		require.Equal(t, models.EINVALID, models.ErrorCode(s.Queues.SetQueuePaused(ctx, dots, true, "test")))
	}

	_, err = e.EnqueueMany(ctx, []jobs.EnqueueParams{{Kind: "k"}, {Kind: "k", Opts: []jobs.Option{jobs.Queue("x\ny")}}})
	var be *jobs.BatchError
	require.True(t, errors.As(err, &be), "%v", err)
	require.Equal(t, 1, be.Index)
	for _, good := range []string{"mail.send", "файлы", "a+b#c&d", "émoji-🔥", "...", ".a"} {
		_, err := e.Enqueue(ctx, good, nil, jobs.Queue(good))
		require.NoError(t, err, "%q is a fine name", good)
	}
	require.Len(t, modeltest.RecentJobs(t, s, 100), 6, "only the good names made jobs")
}

// A unique key (and so an Idempotency-Key, kept as one) refuses control, format and bidi
// characters as names do, naming its field: "x\u202ey" shows as "xy" reversed, and a key that
// looks like another is another.
func TestUniqueKeysRefuseControlFormatAndBidiCharacters(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e := newEngine(t, s, fast())
	for _, bad := range []string{"x\u202ey", "x\ny", "x\u200by", "x\ufeffy", "x\x1b[2Ky", "x\u2028y"} {
		_, err := e.Enqueue(ctx, "k", nil, jobs.UniqueKey(bad))
		requireFieldError(t, err, "unique_key", "may not hold")
		_, err = e.Enqueue(ctx, "k", nil, jobs.IdempotencyKey("local", bad))
		require.Equal(t, models.EINVALID, models.ErrorCode(err), "%v", err)
	}
	for _, good := range []string{"order 42", "invoice:2026-11", "файл"} {
		_, err := e.Enqueue(ctx, "k", nil, jobs.UniqueKey(good))
		require.NoError(t, err, "%q is a fine key", good)
	}
	require.Len(t, modeltest.RecentJobs(t, s, 100), 3, "only the good keys made jobs")
}

// A name's length is counted in characters, as its message says, as the API's maxLength and
// PostgreSQL's varchar(n) count: a kind or queue of 100 'é' (200 bytes), a recurring job's name
// of 200 '日' and a unique key of 255 'é' are taken and stored, on both dialects, and found by
// a filter; one character more is refused.
func TestNameLengthsCountCharacters(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		e := newEngine(t, s, fast())
		kind, key := strings.Repeat("é", 100), strings.Repeat("é", 255)
		j, err := e.Enqueue(ctx, kind, nil, jobs.Queue(kind), jobs.UniqueKey(key))
		require.NoError(t, err)
		got, err := s.JobQueries.GetJob(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, kind, got.Kind)
		require.Equal(t, key, *got.UniqueKey)
		n, err := s.JobQueries.CountJobs(ctx, models.JobFilter{Kind: kind, Queue: kind})
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		_, err = e.CreateRecurring(ctx, strings.Repeat("日", 200), "@hourly", kind, nil)
		require.NoError(t, err)

		_, err = e.Enqueue(ctx, kind+"é", nil)
		requireFieldError(t, err, "kind", "1 to 100 characters")
		_, err = e.Enqueue(ctx, "k", nil, jobs.Queue(kind+"é"))
		requireFieldError(t, err, "queue", "1 to 100 characters")
		_, err = e.Enqueue(ctx, "k", nil, jobs.UniqueKey(key+"é"))
		requireFieldError(t, err, "unique_key", "1 to 255 characters")
		_, err = e.CreateRecurring(ctx, strings.Repeat("日", 201), "@hourly", "k", nil)
		requireFieldError(t, err, "name", "1 to 200 characters")
	})
}
