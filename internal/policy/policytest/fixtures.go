// Package policytest holds the twelve-factor rule fixtures. The unit tests of
// package policy, the admission agreement test (which runs every fixture
// through the ValidatingAdmissionPolicy in config/policy on a real apiserver)
// and the lint tests of the kubectl plugin all use them, so a new fixture is
// checked everywhere at once.
package policytest

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
)

// Digest is a well-formed image digest for fixtures.
const Digest = "sha256:4c6f1b3a8e0d2f5b7c9a1e3d5f7b9c1a3e5d7f9b1c3a5e7d9f1b3c5a7e9d1f3b"

// OtherDigest is a second, different digest.
const OtherDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000001"

// Fixture is one app, what was observed about it, and the rules expected to
// fire on it.
type Fixture struct {
	// Name says what the fixture proves.
	Name string
	// Rule is the reason of the rule the fixture is about.
	Rule string
	// Fires lists the reasons of every rule expected to fire, in rule order
	// (the order of policy.Rules). Empty means every rule passes.
	Fires []string
	// App is the app, without a namespace.
	App *tfv1.TwelveFactorApp
	// Obs is what the operator observed. Admission sees only App.
	Obs policy.Observations
}

// App returns a compliant app: a web process with a version-tagged image, a
// port and two replicas, and a worker.
func App() *tfv1.TwelveFactorApp {
	return &tfv1.TwelveFactorApp{
		TypeMeta:   metav1.TypeMeta{APIVersion: tfv1.GroupVersion.String(), Kind: "TwelveFactorApp"},
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: tfv1.TwelveFactorAppSpec{
			Build:  tfv1.BuildSpec{Image: "ghcr.io/acme/shop:1.4.2"},
			Config: tfv1.ConfigSpec{Env: []tfv1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Command: []string{"bundle", "exec", "puma"}, Port: ptr.To[int32](8080), Replicas: ptr.To[int32](2)},
				{Name: "worker", Command: []string{"bundle", "exec", "sidekiq"}, Replicas: ptr.To[int32](1)},
			},
		},
	}
}

func with(mutate func(a *tfv1.TwelveFactorApp)) *tfv1.TwelveFactorApp {
	a := App()
	mutate(a)
	return a
}

func withImage(image string) *tfv1.TwelveFactorApp {
	return with(func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = image })
}

func withEnv(env ...tfv1.EnvVar) *tfv1.TwelveFactorApp {
	return with(func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env = append(a.Spec.Config.Env, env...) })
}

func withWeb(mutate func(p *tfv1.ProcessSpec)) *tfv1.TwelveFactorApp {
	return with(func(a *tfv1.TwelveFactorApp) { mutate(&a.Spec.Processes[0]) })
}

func withShutdown(grace, sleep *int64) *tfv1.TwelveFactorApp {
	return with(func(a *tfv1.TwelveFactorApp) {
		a.Spec.Shutdown = &tfv1.ShutdownSpec{GracePeriodSeconds: grace, PreStopSleepSeconds: sleep}
	})
}

func promoted(image string) *tfv1.TwelveFactorApp {
	return with(func(a *tfv1.TwelveFactorApp) {
		a.Spec.Build.Image = image
		a.Spec.Promotion = &tfv1.PromotionSpec{From: "shop-staging"}
	})
}

func env(name, value string) tfv1.EnvVar { return tfv1.EnvVar{Name: name, Value: value} }

// Fixtures returns every fixture. Each rule has at least one fixture on which
// it fires and one near miss on which it passes.
func Fixtures() []Fixture {
	return []Fixture{
		{Name: "compliant app passes every rule", App: App()},

		// II
		{Name: "version tag passes", Rule: policy.ReasonImageNotPinned, App: withImage("ghcr.io/acme/shop:1.4.2")},
		{Name: "digest passes", Rule: policy.ReasonImageNotPinned, App: withImage("ghcr.io/acme/shop@" + Digest)},
		{Name: "latest tag with digest passes", Rule: policy.ReasonImageNotPinned, App: withImage("ghcr.io/acme/shop:latest@" + Digest)},
		{Name: "registry port with tag passes", Rule: policy.ReasonImageNotPinned, App: withImage("registry.local:5000/acme/shop:2026.07.1")},
		{Name: "latest tag fails", Rule: policy.ReasonImageNotPinned, Fires: []string{policy.ReasonImageNotPinned}, App: withImage("ghcr.io/acme/shop:latest")},
		{Name: "no tag fails", Rule: policy.ReasonImageNotPinned, Fires: []string{policy.ReasonImageNotPinned}, App: withImage("shop")},
		{Name: "registry port without tag fails", Rule: policy.ReasonImageNotPinned, Fires: []string{policy.ReasonImageNotPinned}, App: withImage("registry.local:5000/acme/shop")},

		// III secrets
		{Name: "password and token literals fail", Rule: policy.ReasonSecretInLiteral, Fires: []string{policy.ReasonSecretInLiteral},
			App: withEnv(env("DB_PASSWORD", "hunter2"), env("GITHUB_TOKEN", "ghp_abc123"))},
		{Name: "name ending in _KEY fails", Rule: policy.ReasonSecretInLiteral, Fires: []string{policy.ReasonSecretInLiteral},
			App: withEnv(env("STRIPE_API_KEY", "sk_live_abc"))},
		{Name: "secret and credential names in any case fail", Rule: policy.ReasonSecretInLiteral, Fires: []string{policy.ReasonSecretInLiteral},
			App: withEnv(env("secret_key_base", "abc"), env("GoogleCredentials", "{}"))},
		{Name: "numbers and booleans under secret-looking names pass", Rule: policy.ReasonSecretInLiteral,
			App: withEnv(env("PASSWORD_MIN_LENGTH", "12"), env("TOKEN_REFRESH", "true"))},
		{Name: "empty secret-looking literal passes", Rule: policy.ReasonSecretInLiteral, App: withEnv(env("API_TOKEN", ""))},
		{Name: "KEY not at the end passes", Rule: policy.ReasonSecretInLiteral, App: withEnv(env("KEYBOARD_LAYOUT", "us"), env("SIGNING_KEY_ID", "k1"))},

		// III environment groups
		{Name: "RAILS_ENV=production warns", Rule: policy.ReasonEnvironmentGroup, Fires: []string{policy.ReasonEnvironmentGroup},
			App: withEnv(env("RAILS_ENV", "production"))},
		{Name: "settings module and profiles that name environments warn", Rule: policy.ReasonEnvironmentGroup, Fires: []string{policy.ReasonEnvironmentGroup},
			App: withEnv(env("DJANGO_SETTINGS_MODULE", "shop.settings.staging"), env("SPRING_PROFILES_ACTIVE", "prod,metrics"))},
		{Name: "settings module without an environment passes", Rule: policy.ReasonEnvironmentGroup,
			App: withEnv(env("DJANGO_SETTINGS_MODULE", "shop.settings"))},
		{Name: "environment word under another name passes", Rule: policy.ReasonEnvironmentGroup,
			App: withEnv(env("SENTRY_RELEASE_CHANNEL", "production"))},

		// IV
		{Name: "database URL with a password fails", Rule: policy.ReasonCredentialsInURL, Fires: []string{policy.ReasonCredentialsInURL},
			App: withEnv(env("DATABASE_URL", "postgres://shop:s3cret@db.internal:5432/shop"))},
		{Name: "URL with a password and no user fails", Rule: policy.ReasonCredentialsInURL, Fires: []string{policy.ReasonCredentialsInURL},
			App: withEnv(env("REDIS_URL", "redis://:s3cret@cache:6379/0"))},
		{Name: "URL without credentials passes", Rule: policy.ReasonCredentialsInURL,
			App: withEnv(env("API_URL", "https://api.example.com:8443/v1/users/@me"), env("CACHE_URL", "redis://cache:6379/0"))},

		// VII
		{Name: "web without a port fails", Rule: policy.ReasonWebWithoutPort, Fires: []string{policy.ReasonWebWithoutPort},
			App: withWeb(func(p *tfv1.ProcessSpec) { p.Port = nil })},
		{Name: "worker without a port passes", Rule: policy.ReasonWebWithoutPort,
			App: with(func(a *tfv1.TwelveFactorApp) { a.Spec.Processes = a.Spec.Processes[1:] })},

		// VIII
		{Name: "web with one replica warns", Rule: policy.ReasonSingleReplica, Fires: []string{policy.ReasonSingleReplica},
			App: withWeb(func(p *tfv1.ProcessSpec) { p.Replicas = ptr.To[int32](1) })},
		{Name: "web with the default replica count warns", Rule: policy.ReasonSingleReplica, Fires: []string{policy.ReasonSingleReplica},
			App: withWeb(func(p *tfv1.ProcessSpec) { p.Replicas = nil })},
		{Name: "web with autoscaling passes", Rule: policy.ReasonSingleReplica,
			App: withWeb(func(p *tfv1.ProcessSpec) {
				p.Replicas = nil
				p.Autoscaling = &tfv1.AutoscalingSpec{MinReplicas: ptr.To[int32](1), MaxReplicas: 5}
			})},
		{Name: "web scaled to zero passes", Rule: policy.ReasonSingleReplica, App: withWeb(func(p *tfv1.ProcessSpec) { p.Replicas = ptr.To[int32](0) })},

		// IX shutdown
		{Name: "grace period equal to the preStop sleep fails", Rule: policy.ReasonGracePeriodTooShort, Fires: []string{policy.ReasonGracePeriodTooShort},
			App: withShutdown(ptr.To[int64](10), ptr.To[int64](10))},
		{Name: "grace period below the default preStop sleep fails", Rule: policy.ReasonGracePeriodTooShort, Fires: []string{policy.ReasonGracePeriodTooShort},
			App: withShutdown(ptr.To[int64](3), nil)},
		{Name: "preStop sleep above the default grace period fails", Rule: policy.ReasonGracePeriodTooShort, Fires: []string{policy.ReasonGracePeriodTooShort},
			App: withShutdown(nil, ptr.To[int64](45))},
		{Name: "grace period above the preStop sleep passes", Rule: policy.ReasonGracePeriodTooShort, App: withShutdown(ptr.To[int64](60), ptr.To[int64](10))},
		{Name: "no preStop sleep passes", Rule: policy.ReasonGracePeriodTooShort, App: withShutdown(nil, ptr.To[int64](0))},

		// IX startup
		{Name: "slow startup warns", Rule: policy.ReasonSlowStartup, Fires: []string{policy.ReasonSlowStartup},
			App: App(), Obs: policy.Observations{StartupSeconds: map[string]float64{"web": 45, "worker": 2}}},
		{Name: "fast startup passes", Rule: policy.ReasonSlowStartup,
			App: App(), Obs: policy.Observations{StartupSeconds: map[string]float64{"web": 3, "worker": 30}}},
		{Name: "startup below a raised threshold passes", Rule: policy.ReasonSlowStartup,
			App: App(), Obs: policy.Observations{StartupSeconds: map[string]float64{"web": 45}, StartupWarnSeconds: 60}},

		// III resolved environment
		{Name: "non-portable keys warn", Rule: policy.ReasonNonPortableEnvName, Fires: []string{policy.ReasonNonPortableEnvName},
			App: App(), Obs: policy.Observations{ConfigKeys: []string{"GOOD_KEY", "foo.bar", "1X", "-dash"}}},
		{Name: "portable keys pass", Rule: policy.ReasonNonPortableEnvName,
			App: App(), Obs: policy.Observations{ConfigKeys: []string{"GOOD_KEY", "_private", "lower_case9"}}},
		{Name: "keys the operator sets warn", Rule: policy.ReasonEnvShadowed, Fires: []string{policy.ReasonEnvShadowed},
			App: App(), Obs: policy.Observations{ConfigKeys: []string{"PORT", "LOG_LEVEL", "RELEASE_VERSION"}}},
		{Name: "keys no one else sets pass", Rule: policy.ReasonEnvShadowed,
			App: App(), Obs: policy.Observations{ConfigKeys: []string{"LOG_LEVEL", "PORTAL"}}},

		// X
		{Name: "app without promotion passes", Rule: policy.ReasonDigestMismatch, App: App(),
			Obs: policy.Observations{ImageDigest: Digest, UpstreamDigest: ptr.To(OtherDigest)}},
		{Name: "promoted app running the upstream digest passes", Rule: policy.ReasonDigestMismatch, App: promoted("ghcr.io/acme/shop:1.4.2"),
			Obs: policy.Observations{ImageDigest: Digest, UpstreamDigest: ptr.To("ghcr.io/acme/shop@" + Digest)}},
		{Name: "promoted app pinned to the upstream digest passes", Rule: policy.ReasonDigestMismatch, App: promoted("ghcr.io/acme/shop@" + Digest),
			Obs: policy.Observations{UpstreamDigest: ptr.To(Digest)}},
		{Name: "promoted app running another digest fails", Rule: policy.ReasonDigestMismatch, Fires: []string{policy.ReasonDigestMismatch},
			App: promoted("ghcr.io/acme/shop:1.4.3"), Obs: policy.Observations{ImageDigest: OtherDigest, UpstreamDigest: ptr.To(Digest)}},
		{Name: "promoted app with an unknown upstream warns", Rule: policy.ReasonUpstreamUnknown, Fires: []string{policy.ReasonUpstreamUnknown},
			App: promoted("ghcr.io/acme/shop:1.4.2"), Obs: policy.Observations{ImageDigest: Digest}},
		{Name: "promoted app with a known upstream passes the upstream check", Rule: policy.ReasonUpstreamUnknown,
			App: promoted("ghcr.io/acme/shop:1.4.2"), Obs: policy.Observations{ImageDigest: Digest, UpstreamDigest: ptr.To(Digest)}},
		{Name: "promoted app with an unresolved tag warns", Rule: policy.ReasonDigestUnknown, Fires: []string{policy.ReasonDigestUnknown},
			App: promoted("ghcr.io/acme/shop:1.4.2"), Obs: policy.Observations{UpstreamDigest: ptr.To(Digest)}},

		{Name: "promoted app with a digest in its spec needs no resolution", Rule: policy.ReasonDigestUnknown,
			App: promoted("ghcr.io/acme/shop:1.4.2@" + Digest), Obs: policy.Observations{UpstreamDigest: ptr.To(Digest)}},

		// XI
		{Name: "log file by name fails", Rule: policy.ReasonLogToFile, Fires: []string{policy.ReasonLogToFile},
			App: withEnv(env("LOG_FILE", "/app/shop.txt"), env("PUMA_LOG_DIR", "tmp/logs"))},
		{Name: "log file by value fails", Rule: policy.ReasonLogToFile, Fires: []string{policy.ReasonLogToFile},
			App: withEnv(env("ACCESS_LOG", "/var/log/nginx/access"), env("AUDIT_OUTPUT", "audit.log"))},
		{Name: "log file pointing at stdout passes", Rule: policy.ReasonLogToFile,
			App: withEnv(env("LOG_FILE", "/dev/stdout"), env("ERROR_LOG_PATH", "stderr"), env("CATALOG_DIR", "/srv/catalog"))},

		// Several rules at once.
		{Name: "a secret and an environment group both fire in factor III",
			Fires: []string{policy.ReasonSecretInLiteral, policy.ReasonEnvironmentGroup},
			App:   withEnv(env("NODE_ENV", "production"), env("SESSION_SECRET", "abc"))},
		{Name: "every static rule fires",
			Fires: []string{
				policy.ReasonImageNotPinned, policy.ReasonSecretInLiteral, policy.ReasonEnvironmentGroup, policy.ReasonCredentialsInURL,
				policy.ReasonWebWithoutPort, policy.ReasonSingleReplica, policy.ReasonGracePeriodTooShort, policy.ReasonLogToFile,
			},
			App: with(func(a *tfv1.TwelveFactorApp) {
				a.Spec.Build.Image = "ghcr.io/acme/shop:latest"
				a.Spec.Config.Env = []tfv1.EnvVar{
					env("APP_ENV", "staging"), env("ADMIN_PASSWORD", "hunter2"),
					env("AMQP_URL", "amqp://guest:guest@rabbit:5672"), env("LOG_PATH", "/var/log/shop.log"),
				}
				a.Spec.Processes = []tfv1.ProcessSpec{{Name: "web"}, {Name: "api", Port: ptr.To[int32](9090)}}
				a.Spec.Shutdown = &tfv1.ShutdownSpec{GracePeriodSeconds: ptr.To[int64](5)}
			})},
	}
}
