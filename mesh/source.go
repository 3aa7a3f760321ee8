package mesh

import (
	"context"
	"encoding/json"
	"log/slog"
)

// Source is implemented by adapters: it reads one upstream system and emits its content as nodes.
//
// Fetch emits the source's content through out, which is safe for concurrent use. req.Cursor is what
// the previous successful Fetch returned (nil: fetch everything). The result says whether the emitted
// nodes are the full set (the engine then drops this source's nodes that were not emitted) or a delta
// (upserts and deletes applied to the last snapshot), and the cursor for next time.
//
// Fetch must return promptly with ctx.Err() (or an error wrapping it) once ctx is done, must return the
// Emitter's error unchanged (so errors.Is works) when Upsert or Delete fails, and must not leave any
// goroutine running when it returns.
type Source interface {
	// Kind is the adapter's stable lowercase name, e.g. "contentful".
	Kind() string
	// Fetch emits the source's nodes; see the type's documentation for the contract.
	Fetch(ctx context.Context, req FetchRequest, out Emitter) (FetchResult, error)
}

// Emitter receives the nodes of one source during Fetch. Implementations are safe for concurrent use.
type Emitter interface {
	// Upsert adds or replaces a node. The engine fills Source, Refs, Backrefs and Digest; the adapter
	// fills ID, Type, NativeID, Fields and, where known, Locale and UpdatedAt.
	Upsert(Node) error
	// Delete removes the node with the given ID (meaningful in a delta result).
	Delete(id string) error
}

// FetchRequest is what the engine passes to Source.Fetch. It is a struct so that fields can be added
// without breaking adapters.
type FetchRequest struct {
	// Source is the instance name from the configuration, used as the first part of node IDs.
	Source string
	// Cursor is what the previous successful Fetch returned in FetchResult.Cursor; nil asks for a full fetch.
	Cursor json.RawMessage
	// PageSize, when positive, overrides the adapter's page size (the conformance suite sets 1).
	PageSize int
	// Logger receives the adapter's diagnostics; never nil when called by the engine.
	Logger *slog.Logger
}

// FetchResult is what Source.Fetch returns on success.
type FetchResult struct {
	// Delta reports that the emitted nodes are changes (upserts and deletes) to apply over the last
	// snapshot of this source. When false the emitted nodes are the source's full set.
	Delta bool
	// Cursor is opaque to the engine and handed back in the next FetchRequest. Nil means the source
	// has no incremental state.
	Cursor json.RawMessage
}

// Checker is an optional interface: a Source that can verify its credentials and reachability cheaply.
type Checker interface {
	Check(ctx context.Context) error
}

// ContentType describes one type of node that a source emits.
type ContentType struct {
	// Name is the normalized node type.
	Name string `json:"name"`
	// Fields lists the field names upstream declares, when it declares them.
	Fields []string `json:"fields,omitempty"`
}

// Describer is an optional interface: a Source that can report the content types it emits.
type Describer interface {
	Describe(ctx context.Context) ([]ContentType, error)
}

// Webhooker is an optional interface: a Source that can turn one of its provider's webhook bodies into
// a delta without fetching everything.
type Webhooker interface {
	// Webhook emits the upserts and deletes that the webhook body describes.
	Webhook(ctx context.Context, req FetchRequest, header map[string][]string, body []byte, out Emitter) error
}
