// Package cputime tells the CPU time this process has used, for the
// benchmarks that print CPU per operation next to wall time. It imports
// only the standard library, so that any package's tests (mapping's
// included, which bridgetest itself would make a cycle for) can use it.
package cputime
