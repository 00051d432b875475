package controller

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
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
)

func init() {
	metrics.Registry.MustRegister(releasesTotal, releasePhaseDuration, rollbacksTotal)
}

var complianceDesc = prometheus.NewDesc("twelvefactor_app_compliance",
	"Number of apps per twelve-factor compliance status (Pass, Warn, Fail), read from the cache at scrape time.",
	[]string{"status"}, nil)

// complianceCollector counts apps by the worst of their status.factors when
// scraped, so the gauge is always consistent with the apps' status.
type complianceCollector struct{ reader client.Reader }

func (c complianceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- complianceDesc }

func (c complianceCollector) Collect(ch chan<- prometheus.Metric) {
	apps := &tfv1.TwelveFactorAppList{}
	if err := c.reader.List(context.Background(), apps); err != nil {
		return
	}
	counts := map[tfv1.FactorStatus]int{tfv1.FactorPass: 0, tfv1.FactorWarn: 0, tfv1.FactorFail: 0}
	for _, a := range apps.Items {
		if meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionTwelveFactorCompliant) == nil {
			continue
		}
		counts[policy.Worst(a.Status.Factors)]++
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(complianceDesc, prometheus.GaugeValue, float64(n), string(s))
	}
}

// registerCompliance registers the compliance gauge once per process.
func registerCompliance(reader client.Reader) error {
	err := metrics.Registry.Register(complianceCollector{reader: reader})
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return nil
	}
	return err
}
