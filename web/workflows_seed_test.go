package web_test

import (
	"fmt"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// seedWorkflows stores runs as a real deployment has them, with long names, in a queue of their
// own: a wide graph still running (one step failed, one succeeded, one running) and a run that
// failed. It returns the workflow pages to check.
func (a *app) seedWorkflows() []string {
	a.t.Helper()
	a.register("wf.step")
	q := []jobs.Option{jobs.Queue("workflows")}
	step := func(name string, deps ...string) jobs.Step {
		return jobs.Step{Name: name, Kind: "wf.step", DependsOn: deps, Opts: q}
	}
	w := jobs.NewWorkflow("nightly reconciliation of enterprise customers' monthly billing statements").Add(
		step("export-ledger-from-primary-database"),
		step("reconcile-monthly-statements-for-enterprise-customers", "export-ledger-from-primary-database"),
		step("generate-responsive-thumbnail-variants", "export-ledger-from-primary-database"),
		step("upload", "export-ledger-from-primary-database"),
		jobs.Step{Name: "render-statement-pdfs", Kind: "wf.step", Args: map[string]string{"customer": "${item}"}, ForEach: customers(1200),
			DependsOn: []string{"export-ledger-from-primary-database"}, Opts: []jobs.Option{jobs.Queue("renders")}},
		step("notify-accounts-payable-of-the-outcome", "reconcile-monthly-statements-for-enterprise-customers", "generate-responsive-thumbnail-variants", "upload",
			"render-statement-pdfs"),
	)
	wide, err := a.engine.StartWorkflow(a.t.Context(), w)
	if err != nil {
		a.t.Fatal(err)
	}
	a.finish(a.stepJob(wide.ID, "export-ledger-from-primary-database"), models.JobSucceeded, "")
	a.finish(a.stepJob(wide.ID, "generate-responsive-thumbnail-variants"), models.JobFailed, "disk full")
	if _, err := a.store.Jobs.ClaimJobs(a.t.Context(), models.ClaimParams{Queue: "workflows", ServerID: "srv-1", Limit: 1, Lease: time.Minute, Now: time.Now()}); err != nil {
		a.t.Fatal(err)
	}
	failed, err := a.engine.StartWorkflow(a.t.Context(), jobs.NewWorkflow("deploy").Add(step("only")))
	if err != nil {
		a.t.Fatal(err)
	}
	a.finish(a.stepJob(failed.ID, "only"), models.JobFailed, "exit status 1")
	return []string{"/dashboard/workflows", "/dashboard/workflows?state=failed", "/dashboard/workflows/" + itoa(wide.ID), "/dashboard/workflows/" + itoa(failed.ID)}
}

// customers are n customers' numbers, a fan-out's items.
func customers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("cus_%05d", i+1)
	}
	return out
}
