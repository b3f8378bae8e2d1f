package driver

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// FinishRow is one attempt's outcome as the finish statements read it from JSON: one array of
// them is one parameter, however many jobs the batch finishes.
type FinishRow struct {
	ID         int64   `json:"id"`
	State      string  `json:"state"`
	Error      string  `json:"error"`
	FinishedAt *string `json:"finished_at"`
	Result     string  `json:"result"`
	RunAt      *string `json:"run_at"`
	Refund     int     `json:"refund"`
	Server     string  `json:"server"`
	Attempt    int     `json:"attempt"`
	Run        int     `json:"run"`
	At         *string `json:"at"`
	Reason     string  `json:"reason"`
	Duration   int64   `json:"duration"`
}

// EncodeFinish writes rows as the finish statements read them (times written by
// Driver.JSONTime).
func EncodeFinish(rows []FinishRow) (string, error) {
	b, err := json.Marshal(rows)
	if err != nil {
		return "", fmt.Errorf("models: encode finished jobs: %w", err)
	}
	return string(b), nil
}

// FinishParams are a batch of outcomes, at most one per job.
type FinishParams struct {
	Outcomes []FinishRow
	// JSON is Outcomes encoded (EncodeFinish), before the transaction holds the writer.
	JSON string
	// At is when the batch finished: the second and the hour of its stats.
	At time.Time
	// Node names the stats rows the finish adds to.
	Node int
	// Record writes, in the finish's transaction tx, the count changes and the stats of the
	// outcomes applied: a driver whose finish statement does not write them itself calls it,
	// when it applied outcomes.
	Record func(tx *gorm.DB, applied []Applied) error
}

// Finished is a job a finish changed.
type Finished struct {
	ID    int64
	Queue string
}

// Applied is a job a finish changed, with its kind, for FinishParams.Record.
type Applied struct {
	Finished
	Kind string
}
