package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"time"
)

// watchNode reads a node's stdout: it says "ready" once it serves, and "enqueued" once it
// enqueued its share (when it has one). done closes when the process ends.
func watchNode(n *node, out io.Reader, logf *os.File, enqueues bool) {
	ready, done := n.ready, n.done
	cmd := n.cmd
	sc := bufio.NewScanner(out)
	closed := false
	for sc.Scan() {
		line := sc.Text()
		if !closed && ((line == "ready" && !enqueues) || line == "enqueued") {
			close(ready)
			closed = true
		}
	}
	_ = cmd.Wait()
	_ = logf.Close()
	close(done)
}

func waitReady(ctx context.Context, n *node) error {
	select {
	case <-n.ready:
		return nil
	case <-n.done:
		log, _ := os.ReadFile(n.logPath)
		return fmt.Errorf("chaos: %s ended before it served: %s", n.name, tail(log, 2000))
	case <-time.After(60 * time.Second):
		return fmt.Errorf("chaos: %s did not serve within a minute", n.name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// enqueueThroughAPI enqueues jobs probe jobs through the JSON API of whichever nodes are live:
// batches of 500 whose jobs carry unique keys (so that a batch retried on another node after
// its first node died mid-request makes no job twice), single POSTs with an Idempotency-Key,
// and uniques jobs each enqueued twice under one unique key, and workflows diamonds of four
// steps, one a fan-out (WorkflowSteps probe jobs each, counted in jobs). A request to a node
// that dies is tried again on another.
func enqueueThroughAPI(ctx context.Context, live func() []string, jobs, uniques, workflows int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(path string, body any, header map[string]string) error {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		for attempt := 0; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			addrs := live()
			if len(addrs) == 0 || attempt > 0 {
				time.Sleep(50 * time.Millisecond)
				if len(addrs) == 0 {
					continue
				}
			}
			if attempt > 600 {
				return fmt.Errorf("chaos: POST %s: no node took it in 600 tries", path)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addrs[rng.IntN(len(addrs))]+path, bytes.NewReader(raw))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				continue // the node died (or is dying): another one
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
				return nil
			case resp.StatusCode == http.StatusConflict && path == "/api/v1/workflows" && attempt > 0:
				return nil // its first step's unique key is taken: an earlier try made it, then its node died
			case resp.StatusCode >= 500:
				continue // e.g. its database connection went with a kill: try again
			default:
				return fmt.Errorf("chaos: POST %s: %d %s", path, resp.StatusCode, msg)
			}
		}
	}
	type spec struct {
		Kind      string         `json:"kind"`
		Args      map[string]any `json:"args"`
		UniqueKey string         `json:"unique_key,omitempty"`
	}
	jobs -= workflows * WorkflowSteps
	singles := jobs / 20
	batched := jobs - singles
	for i := 0; i < batched; i += 500 {
		var batch []spec
		for j := i; j < min(i+500, batched); j++ {
			batch = append(batch, spec{Kind: KindProbe, Args: map[string]any{"via": "api-batch", "n": j}, UniqueKey: "chaos-b-" + strconv.Itoa(j)})
		}
		if err := post("/api/v1/jobs/batch", map[string]any{"jobs": batch}, nil); err != nil {
			return err
		}
	}
	for i := range singles {
		err := post("/api/v1/jobs", spec{Kind: KindProbe, Args: map[string]any{"via": "api", "n": i}},
			map[string]string{"Idempotency-Key": "chaos-s-" + strconv.Itoa(i)})
		if err != nil {
			return err
		}
	}
	for i := range workflows {
		step := func(name string, deps ...string) map[string]any {
			st := map[string]any{"name": name, "kind": KindProbe, "args": map[string]any{"via": "workflow", "n": i, "step": name}}
			if len(deps) > 0 {
				st["depends_on"] = deps
			} else { // a start tried again on another node finds the first made it
				st["unique_key"] = "chaos-w-" + strconv.Itoa(i)
			}
			return st
		}
		a, b, d := step("a"), step("b", "a"), step("d", "b", "c")
		a["args"].(map[string]any)["fan"] = WorkflowFanOut
		// b is one job per item of a's result, expanded in the transaction that ends a; d is
		// given b's results, filled in in the one that ends b's last item.
		b["for_each"], b["args"].(map[string]any)["item"] = "${steps.a.result.items}", "${item}"
		d["args"].(map[string]any)["after"] = "${steps.b.result}"
		err := post("/api/v1/workflows", map[string]any{"name": "chaos-" + strconv.Itoa(i), "steps": []any{a, b, step("c", "a"), d}}, nil)
		if err != nil {
			return err
		}
	}
	for i := range uniques {
		for range 2 { // the second finds the first
			err := post("/api/v1/jobs", spec{Kind: KindProbe, Args: map[string]any{"via": "api-unique", "n": i}, UniqueKey: "chaos-u-" + strconv.Itoa(i)}, nil)
			if err != nil {
				return err
			}
		}
	}
	return nil
}
