// Package lifecycle holds the decisions of the TwelveFactorApp controller,
// apart from any I/O: which release the Deployments run, whether a Deployment
// finished rolling out, which releases to prune, and what the app's
// conditions say. It has no client and reads no clock: the controller fetches,
// passes what it observed (and now) in, and applies the result.
package lifecycle
