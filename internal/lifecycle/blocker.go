package lifecycle

import "time"

// Blocker explains why the spec cannot be released now. The running release
// keeps serving while a blocker holds.
type Blocker struct {
	// Stalled is true when only a change by the user can unblock (kstatus
	// Stalled); false when the operator retries by itself (kstatus Reconciling).
	Stalled bool
	Reason  string
	Message string
	// RetryAfter, when set, is when the operator retries by itself.
	RetryAfter time.Duration
}

func (b *Blocker) Error() string { return b.Reason + ": " + b.Message }

// Problem is something wrong with what runs, that the user must fix (a
// foreign object under a derived name, a refused write, a release Secret that
// is gone or altered). It goes into the Ready and Stalled conditions.
type Problem struct {
	Reason, Message string
}
