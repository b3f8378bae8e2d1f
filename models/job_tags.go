package models

import (
	"fmt"
	"strings"
)

// JobTag is a row of the tag index: the job carries the tag.
type JobTag struct {
	Tag   string `gorm:"primaryKey"`
	JobID int64  `gorm:"primaryKey"`
}

// tagRows are the tag index's rows of the jobs, skipping the indexes in skip (duplicates).
func tagRows(jobs []*Job, skip map[int]bool) []JobTag {
	var rows []JobTag
	for i, j := range jobs {
		if j.Tags == "" || skip[i] {
			continue
		}
		for _, t := range j.TagList() {
			rows = append(rows, JobTag{Tag: t, JobID: j.ID})
		}
	}
	return rows
}

// MaxTags bounds a job's tags; each is a TagName.
const MaxTags = 10

// SetTags stores tags on the job, or returns an EINVALID error saying which one can't be a tag.
func (j *Job) SetTags(tags []string) error {
	if len(tags) > MaxTags {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("A job has at most %d tags.", MaxTags), Fields: map[string]string{"tags": fmt.Sprintf("At most %d tags.", MaxTags)}}
	}
	seen := map[string]bool{}
	var kept []string
	for _, t := range tags {
		if err := TagName.Check(t); err != nil {
			return err
		}
		if !seen[t] {
			seen[t] = true
			kept = append(kept, t)
		}
	}
	j.Tags = ""
	if len(kept) > 0 {
		j.Tags = "," + strings.Join(kept, ",") + ","
	}
	return nil
}

// TagList returns the job's tags.
func (j *Job) TagList() []string {
	t := strings.Trim(j.Tags, ",")
	if t == "" {
		return nil
	}
	return strings.Split(t, ",")
}
