package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the samples whose name starts with one of prefixes.
func parseMetrics(r io.Reader, prefixes ...string) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		ok := false
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				ok = true
				break
			}
		}
		if !ok {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, fmt.Errorf("bad sample %q", line)
	}
	s.name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, ", ")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq < 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
				return s, fmt.Errorf("bad labels in %q", line)
			}
			key := rest[:eq]
			rest = rest[eq+2:]
			var val strings.Builder
			j := 0
			for ; j < len(rest); j++ {
				c := rest[j]
				if c == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(rest[j])
					}
					continue
				}
				if c == '"' {
					break
				}
				val.WriteByte(c)
			}
			s.labels[key] = val.String()
			rest = rest[j+1:]
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("bad value in %q: %w", line, err)
	}
	s.value = v
	return s, nil
}

// writeVerbs are the values of apiserver_request_total's verb label that change state.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true, "APPLY": true,
	"DELETECOLLECTION": true, "CREATE": true, "UPDATE": true}

// resKey names a resource as group/resource[/subresource]; the core group is empty.
func resKey(group, resource, sub string) string {
	k := group + "/" + resource
	if sub != "" {
		k += "/" + sub
	}
	return k
}

// writes counts API writes by resource key and by verb.
type writes map[string]float64

func (w writes) add(key string, n float64) { w[key] += n }

func (w writes) sub(o writes) writes {
	out := writes{}
	for k, v := range w {
		out[k] = v - o[k]
	}
	for k, v := range o {
		if _, ok := w[k]; !ok {
			out[k] = -v
		}
	}
	return out
}

func (w writes) scale(f float64) writes {
	out := writes{}
	for k, v := range w {
		out[k] = v * f
	}
	return out
}

// only keeps the resources in keep.
func (w writes) only(keep []string) writes {
	out := writes{}
	for _, k := range keep {
		if v, ok := w[k]; ok {
			out[k] = v
		}
	}
	return out
}

func (w writes) total() float64 {
	t := 0.0
	for _, v := range w {
		t += v
	}
	return t
}

// String lists the non-zero entries, largest first.
func (w writes) String() string {
	keys := make([]string, 0, len(w))
	for k, v := range w {
		if math.Abs(v) >= 0.005 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if w[keys[i]] != w[keys[j]] {
			return w[keys[i]] > w[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", strings.TrimPrefix(k, "/"), fmtNum(w[k])))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func fmtNum(v float64) string {
	if math.Abs(v-math.Round(v)) < 0.005 {
		return strconv.Itoa(int(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// apiMetrics reads the API server's /metrics.
type apiMetrics struct{ rc rest.Interface }

func newAPIMetrics(cfg *rest.Config) (*apiMetrics, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &apiMetrics{rc: cs.Discovery().RESTClient()}, nil
}

// snapshot returns the API server's write counters by resource.
func (m *apiMetrics) snapshot(ctx context.Context) (writes, error) {
	raw, err := m.rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's /metrics: %w", err)
	}
	samples, err := parseMetrics(bytes.NewReader(raw), "apiserver_request_total{")
	if err != nil {
		return nil, err
	}
	w := writes{}
	for _, s := range samples {
		if !writeVerbs[strings.ToUpper(s.labels["verb"])] || s.labels["dry_run"] != "" {
			continue
		}
		w.add(resKey(s.labels["group"], s.labels["resource"], s.labels["subresource"]), s.value)
	}
	return w, nil
}

// background resources keep changing in a settled cluster: node heartbeats.
var heartbeat = map[string]bool{"coordination.k8s.io/leases": true, "/nodes": true, "/nodes/status": true}

func (w writes) activity() float64 {
	t := 0.0
	for k, v := range w {
		if !heartbeat[k] {
			t += v
		}
	}
	return t
}

// settle waits until no write other than node heartbeats reaches the API
// server for quiet, and returns how long it waited.
func (m *apiMetrics) settle(ctx context.Context, quiet, max time.Duration) (time.Duration, error) {
	start := time.Now()
	last, err := m.snapshot(ctx)
	if err != nil {
		return 0, err
	}
	stableSince := time.Now()
	for time.Since(start) < max {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		cur, err := m.snapshot(ctx)
		if err != nil {
			return 0, err
		}
		if cur.activity() != last.activity() {
			stableSince = time.Now()
		}
		last = cur
		if time.Since(stableSince) >= quiet {
			return time.Since(start), nil
		}
	}
	return time.Since(start), fmt.Errorf("the cluster did not settle within %s", max)
}

// scrape reads a plain-HTTP metrics endpoint (the manager's).
func scrape(ctx context.Context, url string, prefixes ...string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body, prefixes...)
}

// reconcileStats are the app controller's counters at one moment.
type reconcileStats struct {
	total   float64
	errors  float64
	depth   float64
	buckets map[float64]float64 // cumulative count by upper bound
	count   float64
	// requests are the manager's API requests by HTTP method (all controllers).
	requests map[string]float64
}

func managerStats(ctx context.Context, url string) (reconcileStats, error) {
	samples, err := scrape(ctx, url, "controller_runtime_reconcile_total{", "controller_runtime_reconcile_time_seconds_", "workqueue_depth{", "rest_client_requests_total{")
	if err != nil {
		return reconcileStats{}, err
	}
	st := reconcileStats{buckets: map[float64]float64{}, requests: map[string]float64{}}
	for _, s := range samples {
		if s.name == "rest_client_requests_total" {
			st.requests[s.labels["method"]] += s.value
			continue
		}
		if s.labels["controller"] != appController && s.labels["name"] != appController {
			continue
		}
		switch s.name {
		case "controller_runtime_reconcile_total":
			st.total += s.value
			if s.labels["result"] == "error" {
				st.errors += s.value
			}
		case "workqueue_depth":
			st.depth += s.value
		case "controller_runtime_reconcile_time_seconds_bucket":
			le := math.Inf(1)
			if s.labels["le"] != "+Inf" {
				le, _ = strconv.ParseFloat(s.labels["le"], 64)
			}
			st.buckets[le] += s.value
		case "controller_runtime_reconcile_time_seconds_count":
			st.count += s.value
		}
	}
	return st, nil
}

// sub returns the reconciles between two moments of the same process.
func (a reconcileStats) sub(b reconcileStats) reconcileStats {
	out := reconcileStats{total: a.total - b.total, errors: a.errors - b.errors, depth: a.depth,
		count: a.count - b.count, buckets: map[float64]float64{}, requests: map[string]float64{}}
	for le, v := range a.buckets {
		out.buckets[le] = v - b.buckets[le]
	}
	for m, v := range a.requests {
		out.requests[m] = v - b.requests[m]
	}
	return out
}

// quantile estimates a quantile from cumulative histogram buckets, with linear
// interpolation inside the bucket, as Prometheus' histogram_quantile does.
func (a reconcileStats) quantile(q float64) float64 {
	les := make([]float64, 0, len(a.buckets))
	for le := range a.buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 {
		return math.NaN()
	}
	total := a.buckets[les[len(les)-1]]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prevLe, prevCount := 0.0, 0.0
	for _, le := range les {
		c := a.buckets[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return prevLe
			}
			if c == prevCount {
				return le
			}
			return prevLe + (le-prevLe)*(rank-prevCount)/(c-prevCount)
		}
		prevLe, prevCount = le, c
	}
	return prevLe
}

// userPrefix marks the benchmark's writes of what a user writes (apps, their
// ConfigMaps and Secrets), to tell them from the writes of the objects the
// operator (or the floor) makes.
const userPrefix = "user:"

func userKey(key string) string { return userPrefix + key }

// merged returns the writes by API resource, user writes included.
func (w writes) merged() writes {
	out := writes{}
	for k, v := range w {
		out.add(strings.TrimPrefix(k, userPrefix), v)
	}
	return out
}

// objects returns the writes without the user's.
func (w writes) objects() writes {
	out := writes{}
	for k, v := range w {
		if !strings.HasPrefix(k, userPrefix) {
			out[k] = v
		}
	}
	return out
}
