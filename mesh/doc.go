// Package mesh is the core of contentmesh: it runs content sources concurrently and merges what they
// emit into one Graph of Nodes with stable IDs, references and backreferences, and content digests.
//
// # Model
//
// A Source (an adapter for one upstream API) emits Nodes through an Emitter. Each Node has an ID built
// with NodeID (<source>/<namespace>/<nativeId>[@locale]), a normalized Type, and Fields: a JSON
// object in which a reference to another node is written {"$ref": "<node id>"}. The engine owns the
// invariants, once for every adapter: it canonicalizes Fields (sorted keys, one escaping, one number
// form), computes the Digest (sha256 of type, locale and canonical fields), extracts Refs from the
// $ref objects, checks IDs, fills Backrefs, applies link rules, and reports dangling references.
//
// # Builds
//
// Mesh.Build loads the last Snapshot from the Store, runs every source's Fetch at once (each with the
// cursor it returned last time), merges full results and deltas, applies LinkRules, diffs against the
// snapshot into a ChangeSet, writes the output folder when Options.Out is set (graph.json,
// nodes.ndjson, types/<Type>.json, changes.json, report.json; written into a new folder and swapped
// in), and saves the new snapshot. A failing source fails the build (OnErrorFail) or keeps its last
// snapshot (OnErrorStale); a panicking adapter becomes that source's error. A build that fails writes
// nothing.
//
// # Errors
//
// Callers branch with errors.Is on the sentinels (ErrUnauthorized, ErrRateLimited, ErrUpstream,
// ErrInvalidConfig, ErrDanglingRefs, ...) and with errors.As on *SourceError, which names the source.
//
// # Concurrency
//
// Emitter implementations are safe for concurrent use: an adapter may emit from many goroutines.
// A Graph is read-only once built and safe for concurrent reads. HTTP requests made through
// mesh/fetch report to the Recorder in the context, which is how the report counts requests,
// retries and waits per source.
package mesh
