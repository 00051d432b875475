// Package controller holds the operator's reconcilers: one per kind.
package controller

import (
	"time"

	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Config carries the settings the reconcilers share.
type Config struct {
	Clock              clock.PassiveClock
	DefaultPolicy      string
	AdminRunTTL        time.Duration
	MaxConcurrent      int
	InsecureRegistries bool
}

// CacheOptions returns the manager's cache settings.
func CacheOptions(syncPeriod time.Duration) cache.Options {
	return cache.Options{SyncPeriod: &syncPeriod}
}

// Setup registers every reconciler with the manager.
func Setup(mgr ctrl.Manager, cfg Config) error {
	return nil
}
