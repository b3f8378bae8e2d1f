package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.yaml.in/yaml/v3"

	"github.com/kilnhq/kiln/api"
)

// maxWorkflowFile bounds a workflow's file.
const maxWorkflowFile = 8 << 20

func (e *cliEnv) workflowsCommand() *ffcli.Command {
	run := e.apiLeaf("run", "kiln workflows run FILE.json|FILE.yaml|-",
		"start a workflow described in a file (JSON or YAML, as POST /api/v1/workflows takes it; - reads standard input)\n\n"+
			"  name: backup\n  steps:\n    - {name: dump, kind: db.dump}\n    - {name: upload, kind: s3.upload, depends_on: [dump]}\n"+
			"    - {name: tell, kind: email.send, depends_on: [upload], on: finished}", nil,
		func(ctx context.Context, pos []string) error {
			if len(pos) != 1 {
				return fmt.Errorf("%w: give the workflow's file (JSON or YAML), or - for standard input", errUsage)
			}
			spec, err := e.readWorkflow(pos[0])
			if err != nil {
				return err
			}
			wf, err := e.client().StartWorkflow(ctx, spec)
			if err != nil {
				return err
			}
			return e.print(wf, func(w *tabwriter.Writer) { printWorkflow(w, wf) })
		})
	byID := func(name, usage, help string, do func(ctx context.Context, id int64) (*api.Workflow, error)) *ffcli.Command {
		return e.apiLeaf(name, usage, help, nil, func(ctx context.Context, pos []string) error {
			if len(pos) != 1 {
				return fmt.Errorf("%w: give the run's id", errUsage)
			}
			id, err := strconv.ParseInt(pos[0], 10, 64)
			if err != nil || id < 1 {
				return fmt.Errorf("%w: %q is not a run's id", errUsage, pos[0])
			}
			wf, err := do(ctx, id)
			if err != nil {
				return err
			}
			return e.print(wf, func(w *tabwriter.Writer) { printWorkflow(w, wf) })
		})
	}
	show := byID("show", "kiln workflows show ID", "a workflow's run and its steps", func(ctx context.Context, id int64) (*api.Workflow, error) {
		return e.client().GetWorkflow(ctx, id)
	})
	cancel := byID("cancel", "kiln workflows cancel ID", "stop a running run: its running steps are cancelled, and no step starts after",
		func(ctx context.Context, id int64) (*api.Workflow, error) {
			return e.client().WorkflowAction(ctx, id, "cancel")
		})
	retry := byID("retry", "kiln workflows retry ID", "run again an ended run's steps that failed, were cancelled or skipped, keeping what succeeded",
		func(ctx context.Context, id int64) (*api.Workflow, error) {
			return e.client().WorkflowAction(ctx, id, "retry")
		})
	return e.group("workflows", "kiln workflows run|show|cancel|retry ...", "start and follow workflows: steps that wait for each other", run, show, cancel, retry)
}

// readWorkflow reads a workflow's file: JSON, or YAML (which JSON is too), holding no field the
// API doesn't know.
func (e *cliEnv) readWorkflow(name string) (api.WorkflowSpec, error) {
	var spec api.WorkflowSpec
	r := io.Reader(e.stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return spec, fmt.Errorf("%w: %v", errUsage, err)
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxWorkflowFile+1))
	if err != nil {
		return spec, fmt.Errorf("%w: read %s: %v", errUsage, name, err)
	}
	if len(raw) > maxWorkflowFile {
		return spec, fmt.Errorf("%w: %s is more than %d MiB: not a workflow", errUsage, name, maxWorkflowFile>>20)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return spec, fmt.Errorf("%w: %s is neither JSON nor YAML: %v", errUsage, name, err)
	}
	asJSON, err := json.Marshal(doc)
	if err != nil {
		return spec, fmt.Errorf("%w: %s holds what JSON can't: %v", errUsage, name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(asJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return spec, fmt.Errorf("%w: %s is not a workflow: %v", errUsage, name, strings.TrimPrefix(err.Error(), "json: "))
	}
	return spec, nil
}

// printWorkflow writes a run and its steps as a table.
func printWorkflow(w *tabwriter.Writer, wf *api.Workflow) {
	fmt.Fprintf(w, "Workflow %d, %s: %s, %d of %d steps done", wf.ID, shown(wf.Name), wf.State, wf.StepsTotal-wf.StepsLeft, wf.StepsTotal)
	if wf.StepsFailed > 0 {
		fmt.Fprintf(w, ", %d failed", wf.StepsFailed)
	}
	fmt.Fprintln(w, ".")
	fmt.Fprintln(w, "STEP\tJOB\tSTATE\tDEPENDS ON")
	// A fan-out's jobs are one line: its first job, and how many of its items are in each state.
	items := map[string][]api.WorkflowStep{}
	for _, st := range wf.Steps {
		if st.Item != nil {
			items[st.Name] = append(items[st.Name], st)
		}
	}
	for _, st := range wf.Steps {
		deps := strings.Join(st.DependsOn, ", ")
		if deps == "" {
			deps = "-"
		}
		fan, isFan := items[st.Name]
		switch {
		case !isFan && st.ItemsToCome > 0:
			fmt.Fprintf(w, "%s\t%d\t%s (%d items to come)\t%s\n", shown(st.Name), st.JobID, st.State, st.ItemsToCome, shown(deps))
		case !isFan:
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", shown(st.Name), st.JobID, st.State, shown(deps))
		case fan[0].JobID == st.JobID:
			fmt.Fprintf(w, "%s\t%d…\t%s\t%s\n", shown(st.Name), st.JobID, itemStates(fan), shown(deps))
		}
	}
}

// itemStates says how many of a fan-out's jobs are in each state: "3 succeeded, 2 enqueued of 5".
func itemStates(fan []api.WorkflowStep) string {
	count := map[string]int{}
	var order []string
	for _, st := range fan {
		if count[st.State] == 0 {
			order = append(order, st.State)
		}
		count[st.State]++
	}
	slices.Sort(order)
	parts := make([]string, len(order))
	for i, st := range order {
		parts[i] = fmt.Sprintf("%d %s", count[st], st)
	}
	return fmt.Sprintf("%s of %d items", strings.Join(parts, ", "), len(fan))
}
