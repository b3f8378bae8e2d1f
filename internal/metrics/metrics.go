// Package metrics is Kiln's Prometheus metrics: what the engine does (attempts by outcome,
// their durations, rescues), what the database holds (jobs by queue and state, the oldest
// waiting job's age, read from the counters Kiln keeps, never a table scan), the workers, the
// HTTP requests, and the Go runtime.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// Metrics holds Kiln's metrics and serves them. It is the engine's jobs.Observer.
type Metrics struct {
	registry *prometheus.Registry
	finished *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rescues  prometheus.Counter
	requests *prometheus.HistogramVec
	engine   atomic.Pointer[jobs.Engine]
}

// New makes the metrics of a node whose database is store: its queues' counts are read at each
// scrape.
func New(store *models.Store) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kiln_jobs_finished_total", Help: "Attempts that ended on this node, by kind, queue and outcome (succeeded, failed, retried, snoozed, cancelled, released).",
		}, []string{"kind", "queue", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kiln_job_duration_seconds", Help: "How long attempts on this node ran, by kind and queue.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 1800},
		}, []string{"kind", "queue"}),
		rescues: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kiln_jobs_rescued_total", Help: "Jobs this node took back from servers presumed dead (requeued, or failed as poison pills).",
		}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kiln_http_request_duration_seconds", Help: "HTTP requests by route and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "status"}),
	}
	m.registry.MustRegister(m.finished, m.duration, m.rescues, m.requests,
		&storeCollector{jobs: store.JobQueries, queues: store.Queues, rules: store.Rules}, &workerCollector{m: m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetEngine lets the metrics report the engine's workers (the engine is made after the metrics,
// which it reports to).
func (m *Metrics) SetEngine(e *jobs.Engine) { m.engine.Store(e) }

// JobFinished implements jobs.Observer.
func (m *Metrics) JobFinished(kind, queue, outcome string, took time.Duration) {
	m.finished.WithLabelValues(kind, queue, outcome).Inc()
	m.duration.WithLabelValues(kind, queue).Observe(took.Seconds())
}

// JobsRescued implements jobs.Observer.
func (m *Metrics) JobsRescued(n int) { m.rescues.Add(float64(n)) }

// ObserveHTTP records one request, by its route pattern (not its URL: ids would make a series
// per job).
func (m *Metrics) ObserveHTTP(route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(took.Seconds())
}

// Handler serves the metrics in Prometheus' text format, uncompressed: the web server's gzip
// middleware compresses them (promhttp's own gzip on top of it sent the body compressed twice).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry, DisableCompression: true})
}

var (
	jobsDesc   = prometheus.NewDesc("kiln_jobs", "Jobs by queue and state, from Kiln's counters (the whole cluster).", []string{"queue", "state"}, nil)
	oldestDesc = prometheus.NewDesc("kiln_queue_oldest_enqueued_age_seconds", "How long the job waiting longest in each queue has been due (0 when none waits).", []string{"queue"}, nil)
	pausedDesc = prometheus.NewDesc("kiln_queue_paused", "1 when the queue is paused.", []string{"queue"}, nil)
	alertsDesc = prometheus.NewDesc("kiln_alerts_open", "Alerts open: rules whose condition holds, by subject.", nil, nil)
	scrapeDesc = prometheus.NewDesc("kiln_store_scrape_error", "1 when the last scrape could not read the database.", nil, nil)
)

// storeCollector reads the counters and the queues at each scrape.
type storeCollector struct {
	jobs   models.JobQueries
	queues models.QueueStore
	rules  models.RuleStore
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- oldestDesc
	ch <- pausedDesc
	ch <- alertsDesc
	ch <- scrapeDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := 0.0
	if counts, err := c.jobs.CountJobsByQueue(ctx); err != nil {
		failed = 1
	} else {
		for queue, byState := range counts {
			for _, st := range models.JobStates {
				ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(byState[st]), queue, string(st))
			}
		}
	}
	if stats, err := c.queues.QueueStats(ctx); err != nil {
		failed = 1
	} else {
		now := time.Now()
		for _, q := range stats {
			age := 0.0
			if q.OldestEnqueued != nil && q.OldestEnqueued.Before(now) {
				age = now.Sub(*q.OldestEnqueued).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, q.Name)
			paused := 0.0
			if q.Paused {
				paused = 1
			}
			ch <- prometheus.MustNewConstMetric(pausedDesc, prometheus.GaugeValue, paused, q.Name)
		}
	}
	if n, err := c.rules.CountOpenAlerts(ctx); err != nil {
		failed = 1
	} else {
		ch <- prometheus.MustNewConstMetric(alertsDesc, prometheus.GaugeValue, float64(n))
	}
	ch <- prometheus.MustNewConstMetric(scrapeDesc, prometheus.GaugeValue, failed)
}

var (
	workersDesc = prometheus.NewDesc("kiln_workers", "Workers on this node, by queue.", []string{"queue"}, nil)
	busyDesc    = prometheus.NewDesc("kiln_workers_busy", "Workers on this node running a job now, by queue.", []string{"queue"}, nil)
	waitingDesc = prometheus.NewDesc("kiln_outcomes_waiting", "Outcomes of finished jobs this node holds, not yet written: they wait while the database does not answer.", nil, nil)
	failedDesc  = prometheus.NewDesc("kiln_outcome_writes_failed_total", "Writes of finished jobs' outcomes that failed on this node, each retry counted.", nil, nil)
	droppedDesc = prometheus.NewDesc("kiln_outcomes_dropped_total", "Outcomes of finished jobs this node gave up (unwritten at a stop's deadline, or refused by the database): their jobs run again.", nil, nil)
)

// workerCollector reads the engine's pools at each scrape.
type workerCollector struct{ m *Metrics }

func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- workersDesc
	ch <- busyDesc
	ch <- waitingDesc
	ch <- failedDesc
	ch <- droppedDesc
}

func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.m.engine.Load()
	if e == nil {
		return
	}
	for _, w := range e.Workers() {
		ch <- prometheus.MustNewConstMetric(workersDesc, prometheus.GaugeValue, float64(w.Workers), w.Queue)
		ch <- prometheus.MustNewConstMetric(busyDesc, prometheus.GaugeValue, float64(w.Busy), w.Queue)
	}
	o := e.Outcomes()
	ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(o.Waiting))
	ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.CounterValue, float64(o.FailedWrites))
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(o.Dropped))
}
