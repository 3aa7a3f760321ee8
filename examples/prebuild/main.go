// Command prebuild is a serverless prebuild function: an HTTP endpoint that a deploy hook (or a CMS
// webhook) calls before a site build. Each POST builds the content graph incrementally from the
// snapshot store and answers the change set as JSON, so the hook rebuilds only the pages whose
// nodes changed, and skips the deploy when nothing did:
//
//	curl -X POST -H "Authorization: Bearer $PREBUILD_TOKEN" http://127.0.0.1:8080/
//	{"changes": {"added": [], "updated": ["shop/product/42"], "deleted": []}, "unchanged": false,
//	 "nodes": 1280, "durationMs": 412, "sources": [{"name": "shop", "status": "ok", ...}]}
//
// Statuses: 200 built (the change set may be empty), 502 a source failed (the answer lists each
// source's status and error, secrets redacted), 504 the build ran out of time, 401 a missing or
// wrong token, 405 not a POST. After a failure nothing was saved: the next call reports the same
// changes. Builds are serialized: a call during a build waits for it, then builds (see Handler).
//
// Webhooks. A source whose webhook secret is set in $WEBHOOK_SECRET_<NAME> (the source's name in
// capitals, '-' as '_') also gets the route /hooks/<name>, served by mesh/webhook: the delivery's
// signature is checked the way its provider signs (Contentful, Sanity, Stripe, Shopify, Strapi's
// bearer token; other types send the secret in X-Webhook-Secret), forged, stale, replayed and
// malformed deliveries are refused, a burst of deliveries makes one build of just the sources they
// name, and the answer is that build's change set. Point the provider's webhook at
// https://<host>/hooks/<name>. The prebuild and the webhooks take turns on the snapshot.
//
// Run it:
//
//	PREBUILD_TOKEN=... go run ./examples/prebuild -config mesh.yaml -addr 127.0.0.1:8080
//
// The sources, link rules and cache come from mesh.yaml, as for the CLI; -cache overrides the
// snapshot store (a folder, or s3://bucket/prefix with the AWS environment variables), -out also
// writes the output folder (graph.json, types/, ...), -max caps a build.
//
// Deploying it as a function. The handler is a plain http.Handler (handler.go); main only serves it.
// The snapshot store must outlive the function instance, or every call is a full build that reports
// everything as added:
//   - Containers (Cloud Run, Fly.io, Render, a VM): run this binary. It listens on $PORT when that is
//     set, and stops cleanly on SIGTERM. Use an s3:// cache, or mount a persistent volume for -cache.
//   - AWS Lambda: run the binary unchanged behind the Lambda Web Adapter (it forwards the invocation
//     as HTTP to $PORT); /tmp does not persist between cold starts, so use an s3:// cache (or a
//     mounted EFS folder). Without the adapter, lambda.go serves the webhooks from API Gateway proxy
//     events directly: make main call newLambda("mesh.yaml", "s3://bucket/prefix", os.LookupEnv,
//     logger) and pass the function it returns to lambda.Start (github.com/aws/aws-lambda-go/lambda).
//     With an s3:// cache instances may build at once: the snapshot is committed with a
//     conditional write and the loser builds again over the winner's. A folder (DirStore) must not
//     see two builds at once: give the function a reserved concurrency of 1.
//   - Go function platforms that want a handler value (Google Cloud Functions, Vercel): copy
//     handler.go into the function's package and register NewHandler(m, opts), built once per
//     instance, as the HTTP function; keep the cache on a mounted volume. Outside this module
//     internal/config cannot be imported: make the mesh's sources in Go (each adapter's Config
//     and New) instead of from mesh.yaml.
//
// Set the request timeout of the platform above -max so that the function answers 504 itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/contentmesh/contentmesh/internal/cachestore"
	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/webhook"
	"github.com/contentmesh/contentmesh/sources"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, os.LookupEnv, nil); err != nil {
		fmt.Fprintf(os.Stderr, "prebuild: %v\n", err)
		os.Exit(1)
	}
}

// run serves the function until ctx is done. ready, when set, receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, lookup func(string) (string, bool), ready func(addr string)) error {
	fs := flag.NewFlagSet("prebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "mesh.yaml", "the contentmesh config")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (ignored when $PORT is set: then :$PORT)")
	cache := fs.String("cache", "", "snapshot store: a folder or an s3:// URL (default: the config's cache)")
	out := fs.String("out", "", "also write the output folder here (default: do not write it)")
	maxDur := fs.Duration("max", DefaultMaxDuration, "the longest a build may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if port, ok := lookup("PORT"); ok && port != "" {
		*addr = ":" + port
	}
	token, _ := lookup("PREBUILD_TOKEN")
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if token == "" {
		logger.Warn("PREBUILD_TOKEN is not set: anyone who can reach the address can start builds")
	}
	m, f, closeStore, err := openMesh(*cfgPath, *cache, *out, logger, lookup)
	if err != nil {
		return err
	}
	defer closeStore()
	sm := newSerialMesh(m) // the prebuild and the webhooks share the snapshot: one build at a time
	h, err := NewHandler(sm, HandlerOptions{MaxDuration: *maxDur, Token: token, Logger: logger})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	var wh *webhook.Handler
	if routes := webhookRoutes(f, lookup); len(routes) > 0 {
		wh, err = webhook.New(webhook.Config{Build: sm.BuildSources, Routes: routes, MaxDuration: *maxDur, Logger: logger})
		if err != nil {
			return err
		}
		mux.Handle("/hooks/", wh)
		for _, r := range routes {
			logger.Info("webhook route", "path", r.Path, "sources", r.Sources)
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("prebuild listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Let a build in progress finish (it saves its snapshot), within the cap.
	sctx, cancel := context.WithTimeout(context.Background(), *maxDur+5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if wh != nil {
		if werr := wh.Shutdown(sctx); err == nil {
			err = werr
		}
	}
	return err
}

// openMesh makes the mesh from the config the way the CLI does, with the snapshot in the store the
// config's cache (or cache, when set) names: a folder, or an s3:// URL for functions whose disk does
// not outlive them. closeStore releases the store's connections.
func openMesh(path, cache, out string, logger *slog.Logger, lookup func(string) (string, bool)) (m *mesh.Mesh, f *config.File, closeStore func(), err error) {
	f, err = config.Load(path, lookup)
	if err != nil {
		return nil, nil, nil, err
	}
	if cache == "" {
		cache = f.Cache
	}
	store, _, closeStore, err := cachestore.Open(cache, f.Dir, lookup, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			closeStore()
		}
	}()
	graphDir := f.GraphDir
	if graphDir != "" && !filepath.IsAbs(graphDir) {
		graphDir = filepath.Join(f.Dir, graphDir)
	}
	m, err = mesh.New(mesh.Options{
		Store:         store,
		Out:           out,
		Concurrency:   f.Concurrency,
		OnError:       mesh.OnError(f.OnError),
		Strict:        f.Strict,
		Links:         f.Links,
		Logger:        logger,
		Graph:         mesh.GraphMode(f.Graph),
		DiskThreshold: f.DiskThreshold,
		GraphDir:      graphDir,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	env := sources.Env{File: path, Dir: f.Dir}
	for _, s := range f.Sources {
		src, serr := sources.Open(env, s)
		if serr != nil {
			return nil, nil, nil, serr
		}
		if err = m.Add(s.Name, src); err != nil {
			return nil, nil, nil, err
		}
	}
	return m, f, closeStore, nil
}
