//go:build unix

package builtin_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// wrapperScript acts as Debian's pg_wrapper does: called by its own name it runs the program
// its arguments name; called by a link's name it does what that name says.
const wrapperScript = `#!/bin/sh
case "$0" in */wrapper.sh) exec "$@" ;; esac
echo "as ${0##*/}: $*"
`

// Found in review: a program ran by its real path, so a multi-call program or wrapper saw its
// own name instead of the name it was allowed under. /usr/bin/pg_dump, a link to pg_wrapper,
// then ran its first argument (pg_dump /bin/sh -c id). A program sees the path the job gives,
// and a job can't give the name a link leads to in place of the one the list allows.
func TestExecProgramSeesTheNameItIsAllowedUnder(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	dir, _ := execDir(t)
	show := filepath.Join(dir, "show-name.sh")
	require.NoError(t, os.WriteFile(show, []byte("#!/bin/sh\necho \"name=$0\"\n"), 0o755))
	wrapper := filepath.Join(dir, "wrapper.sh")
	require.NoError(t, os.WriteFile(wrapper, []byte(wrapperScript), 0o755))
	tool, dump := filepath.Join(dir, "tool"), filepath.Join(dir, "dump")
	require.NoError(t, os.Symlink(show, tool))
	require.NoError(t, os.Symlink("wrapper.sh", dump))
	marker := filepath.Join(dir, "escaped")
	e := execEngine(t, s, tool, dump)

	named, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{tool}})
	require.NoError(t, err)
	wrapped, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{dump, shell(t), "-c", "touch " + marker}})
	require.NoError(t, err)

	// The file the entry leads to, by its own name: allowed only as the list names it.
	direct := builtin.ExecArgs{Command: []string{wrapper, shell(t), "-c", "touch " + marker}}
	_, err = e.Enqueue(ctx, builtin.KindExec, direct)
	var me *models.Error
	require.ErrorAs(t, err, &me)
	require.Contains(t, me.Fields["args.command"], wrapper+" is not allowed on this server by that name: "+dump+" leads to it")
	id := insertExec(t, s, direct)

	start(t, e)
	waitState(t, s, named.ID, models.JobSucceeded)
	require.Contains(t, logLines(t, s, named.ID), "name="+tool)
	waitState(t, s, wrapped.ID, models.JobSucceeded)
	require.Contains(t, logLines(t, s, wrapped.ID), "as dump: "+shell(t)+" -c touch "+marker)
	requireRefusedAtRun(t, s, id, "by that name")
	require.NoFileExists(t, marker, "the wrapper ran the job's argument")
}
