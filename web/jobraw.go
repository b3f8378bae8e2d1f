package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// A job's values served whole, as stored, as a download: where a page's block links when it
// had to cut a value (block.go). Whoever may see the job's page may download them.

// rawFile is one value served whole.
type rawFile struct {
	contentType string
	ext         string // of the downloaded file's name, when the value says which
	body        []byte
}

// jobFiles are the values of a job served under /dashboard/jobs/:id/, by the path's last part.
var jobFiles = map[string]func(s *Server, ctx context.Context, j *models.Job) (rawFile, error){
	"args.json":   func(_ *Server, _ context.Context, j *models.Job) (rawFile, error) { return jsonFile(j.Args), nil },
	"result.json": func(_ *Server, _ context.Context, j *models.Job) (rawFile, error) { return jsonFile(j.Result), nil },
	"error.txt":   func(_ *Server, _ context.Context, j *models.Job) (rawFile, error) { return textFile(j.LastError), nil },
	"log.txt": func(s *Server, ctx context.Context, j *models.Job) (rawFile, error) {
		logs, err := s.store.JobQueries.JobLogs(ctx, j.ID)
		if err != nil {
			return rawFile{}, err
		}
		var b bytes.Buffer
		for _, l := range logs {
			fmt.Fprintf(&b, "%s #%d %s\n", l.At.UTC().Format(time.RFC3339Nano), l.Attempt, l.Message)
		}
		return rawFile{contentType: echo.MIMETextPlainCharsetUTF8, body: b.Bytes()}, nil
	},
	"history.txt": func(s *Server, ctx context.Context, j *models.Job) (rawFile, error) {
		events, err := s.store.JobQueries.JobEvents(ctx, j.ID)
		if err != nil {
			return rawFile{}, err
		}
		var b bytes.Buffer
		for _, e := range events {
			fmt.Fprintf(&b, "%s %s > %s, attempt %d", e.At.UTC().Format(time.RFC3339Nano), e.From, e.To, e.Attempt)
			if e.ServerID != "" {
				fmt.Fprintf(&b, ", on %s", e.ServerID)
			}
			if e.Reason != "" {
				fmt.Fprintf(&b, ": %s", e.Reason)
			}
			if e.Error != "" {
				fmt.Fprintf(&b, "\n    %s", strings.ReplaceAll(e.Error, "\n", "\n    "))
			}
			b.WriteByte('\n')
		}
		return rawFile{contentType: echo.MIMETextPlainCharsetUTF8, body: b.Bytes()}, nil
	},
	"response-body": func(_ *Server, _ context.Context, j *models.Job) (rawFile, error) {
		var r builtin.HTTPResponse
		if j.Kind != builtin.KindHTTPRequest || json.Unmarshal([]byte(j.Result), &r) != nil || r.Status == 0 {
			return rawFile{}, models.Errorf(models.ENOTFOUND, "Job #%d has no HTTP response.", j.ID)
		}
		if r.BodyEncoding == "base64" {
			if b, err := base64.StdEncoding.DecodeString(r.Body); err == nil {
				return rawFile{contentType: echo.MIMEOctetStream, ext: ".bin", body: b}, nil
			}
		}
		if strings.Contains(r.Headers["Content-Type"], "json") {
			return rawFile{contentType: echo.MIMEApplicationJSON, ext: ".json", body: []byte(r.Body)}, nil
		}
		// As text whatever its type: a body served as HTML from Kiln's own address could act
		// in the viewer's session.
		return rawFile{contentType: echo.MIMETextPlainCharsetUTF8, ext: ".txt", body: []byte(r.Body)}, nil
	},
}

// jsonFile is stored JSON; text that isn't JSON (a result from before results were checked)
// goes as text.
func jsonFile(s string) rawFile {
	if json.Valid([]byte(s)) {
		return rawFile{contentType: echo.MIMEApplicationJSON, body: []byte(s)}
	}
	return textFile(s)
}

func textFile(s string) rawFile {
	return rawFile{contentType: echo.MIMETextPlainCharsetUTF8, body: []byte(s)}
}

// jobFileURL is where the named value of job id is served whole.
func jobFileURL(id int64, name string) string {
	return "/dashboard/jobs/" + strconv.FormatInt(id, 10) + "/" + name
}

// handleJobFile serves one value of a job whole, as a download.
func (s *Server) handleJobFile(name string) echo.HandlerFunc {
	get := jobFiles[name]
	return func(c echo.Context) error {
		id, err := jobID(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		j, err := s.store.JobQueries.GetJob(ctx, id)
		if err != nil {
			return err
		}
		f, err := get(s, ctx, j)
		if err != nil {
			return err
		}
		return serveDownload(c, fmt.Sprintf("job-%d-%s%s", id, name, f.ext), f)
	}
}

// handleRecurringArgs serves a recurring job's arguments whole, as a download.
func (s *Server) handleRecurringArgs(c echo.Context) error {
	id, err := recurringID(c)
	if err != nil {
		return err
	}
	rj, err := s.store.Recurring.GetRecurringByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return serveDownload(c, fmt.Sprintf("recurring-%d-args.json", id), jsonFile(rj.Args))
}

func serveDownload(c echo.Context, filename string, f rawFile) error {
	c.Response().Header().Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	return c.Blob(http.StatusOK, f.contentType, f.body)
}
