-- An index of job tags: a row per (tag, job), written with the job, so that ?tag= and the jobs
-- list's tag filter read only the jobs that carry the tag. jobs.tags stays the job's own copy.

-- +goose Up
CREATE TABLE job_tags (
    tag varchar(50) NOT NULL,
    job_id bigint NOT NULL,
    PRIMARY KEY (tag, job_id)
);
INSERT INTO job_tags (tag, job_id)
    SELECT DISTINCT t, id FROM jobs, unnest(string_to_array(trim(both ',' from tags), ',')) AS t
    WHERE tags <> '' AND t <> '';
CREATE INDEX idx_job_tags_job_id ON job_tags (job_id);

-- +goose Down
DROP TABLE job_tags;
