package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The operator's own metrics, registered with controller-runtime's registry.
// Labels are kept low-cardinality: no app names.
var (
	releasesTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "twelvefactor_releases_total",
		Help: "Releases created.",
	})
	releasePhaseDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "twelvefactor_release_phase_duration_seconds",
		Help:    "Duration of successful release phase Jobs.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12),
	})
	rollbacksTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "twelvefactor_rollbacks_total",
		Help: "Rollbacks: pins to an earlier release and automatic rollbacks.",
	})
	appCompliance = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "twelvefactor_app_compliance",
		Help: "Number of apps per twelve-factor compliance status (Pass, Warn, Fail).",
	}, []string{"status"})
)

func init() {
	metrics.Registry.MustRegister(releasesTotal, releasePhaseDuration, rollbacksTotal, appCompliance)
}
