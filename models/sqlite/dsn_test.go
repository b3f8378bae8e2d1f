package sqlite_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models/sqlite"
)

func TestSQLiteDSN(t *testing.T) {
	dir := t.TempDir()
	dsn, err := sqlite.DSN(dir + "/nested/kiln.db")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(dsn, "file:"+dir+"/nested/kiln.db?"))
	for _, p := range []string{"_journal_mode=WAL", "_busy_timeout=5000", "_foreign_keys=on", "_synchronous=NORMAL", "_txlock=immediate"} {
		require.Contains(t, dsn, p)
	}
	require.DirExists(t, dir+"/nested")
	dsn, err = sqlite.DSN("file:" + dir + "/k.db?_busy_timeout=100")
	require.NoError(t, err)
	require.Contains(t, dsn, "_busy_timeout=100")
	require.NotContains(t, dsn, "_busy_timeout=5000")
}
