package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/webhook"
)

// webhookSecretVar is the environment variable holding the webhook secret of a source.
func webhookSecretVar(source string) string {
	return "WEBHOOK_SECRET_" + strings.ToUpper(strings.ReplaceAll(source, "-", "_"))
}

// webhookRoutes gives each configured source whose webhook secret is set ($WEBHOOK_SECRET_<NAME>,
// the source's name in capitals, '-' as '_') the route /hooks/<name>, verified the way its provider
// signs: Contentful's request verification, Sanity's and Stripe's signatures, Shopify's HMAC,
// Strapi's "Authorization: Bearer <secret>" header; any other type must send the secret in an
// X-Webhook-Secret header. A delivery there builds only that source.
func webhookRoutes(f *config.File, lookup func(string) (string, bool)) []webhook.Route {
	var routes []webhook.Route
	for _, s := range f.Sources {
		secret, ok := lookup(webhookSecretVar(s.Name))
		if !ok || secret == "" {
			continue
		}
		var v webhook.Verifier
		switch s.Type {
		case "contentful":
			v = webhook.Contentful(secret)
		case "sanity":
			v = webhook.Sanity(secret)
		case "strapi":
			v = webhook.Strapi(secret)
		case "shopify":
			v = webhook.Shopify(secret)
		case "stripe":
			v = webhook.Stripe(secret)
		default:
			v = webhook.SharedSecret("X-Webhook-Secret", secret)
		}
		routes = append(routes, webhook.Route{Path: "/hooks/" + s.Name, Verifier: v, Sources: []string{s.Name}})
	}
	return routes
}

// serialMesh runs one build at a time: the prebuild handler and the webhook handler build with the
// same mesh, and a DirStore must not see two builds at once.
type serialMesh struct {
	m    *mesh.Mesh
	lock chan struct{}
}

func newSerialMesh(m *mesh.Mesh) *serialMesh { return &serialMesh{m: m, lock: make(chan struct{}, 1)} }

// Build implements Builder.
func (s *serialMesh) Build(ctx context.Context) (*mesh.Build, error) { return s.BuildSources(ctx, nil) }

// BuildSources builds the named sources (all when none), after any build in progress.
func (s *serialMesh) BuildSources(ctx context.Context, names []string) (*mesh.Build, error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.lock }()
	return s.m.BuildSources(ctx, names...)
}

// newLambda opens the mesh from the config, as the server does, and returns the Lambda function
// that serves its webhooks: what a Lambda main registers with lambda.Start. The snapshot store
// must outlive the instance (an s3:// cache, or a mounted EFS folder), or each call fetches
// everything. The store's connections live as long as the instance: they serve every call.
func newLambda(cfgPath, cache string, lookup func(string) (string, bool), logger *slog.Logger) (LambdaFunc, error) {
	m, f, _, err := openMesh(cfgPath, cache, "", logger, lookup)
	if err != nil {
		return nil, err
	}
	routes := webhookRoutes(f, lookup)
	if len(routes) == 0 {
		return nil, errors.New("no webhook secret is set: set WEBHOOK_SECRET_<NAME> for the sources whose webhooks the function serves")
	}
	wh, err := webhook.New(webhook.Config{Mesh: m, Routes: routes, Debounce: -1, Logger: logger})
	if err != nil {
		return nil, err
	}
	return NewLambdaFunction(wh), nil
}
