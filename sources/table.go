package sources

import (
	"path/filepath"

	"github.com/contentmesh/contentmesh/sources/auth0"
	"github.com/contentmesh/contentmesh/sources/bigcommerce"
	"github.com/contentmesh/contentmesh/sources/clerk"
	"github.com/contentmesh/contentmesh/sources/contentful"
	"github.com/contentmesh/contentmesh/sources/directus"
	"github.com/contentmesh/contentmesh/sources/dynamodb"
	"github.com/contentmesh/contentmesh/sources/files"
	"github.com/contentmesh/contentmesh/sources/ghost"
	"github.com/contentmesh/contentmesh/sources/okta"
	"github.com/contentmesh/contentmesh/sources/ory"
	"github.com/contentmesh/contentmesh/sources/rest"
	"github.com/contentmesh/contentmesh/sources/sanity"
	"github.com/contentmesh/contentmesh/sources/shopify"
	"github.com/contentmesh/contentmesh/sources/storyblok"
	"github.com/contentmesh/contentmesh/sources/strapi"
	"github.com/contentmesh/contentmesh/sources/stripe"
	"github.com/contentmesh/contentmesh/sources/vendure"
	"github.com/contentmesh/contentmesh/sources/wordpress"
)

// Registry returns the table of adapters, one entry per config type. It is built on each call: there
// is no package state to mutate.
func Registry() []Factory {
	return []Factory{
		adapter("files", "local Markdown (front matter), JSON and YAML files", files.New, func(env Env, c *files.Config) {
			if c.Dir != "" && !filepath.IsAbs(c.Dir) && env.Dir != "" {
				c.Dir = filepath.Join(env.Dir, c.Dir)
			}
		}),
		adapter("rest", "any JSON API, configured with gjson paths", rest.New, nil),
		adapter("dynamodb", "Amazon DynamoDB tables (parallel Scan, SigV4) and DynamoDB-compatible servers", dynamodb.New, nil),
		// headless CMS
		adapter("contentful", "Contentful delivery and sync APIs", contentful.New, nil),
		adapter("sanity", "Sanity Content Lake documents and assets (GROQ query API)", sanity.New, nil),
		adapter("storyblok", "Storyblok stories and assets (Content Delivery API v2)", storyblok.New, nil),
		adapter("ghost", "Ghost posts, pages, authors and tags (Content API)", ghost.New, nil),
		adapter("wordpress", "WordPress REST API: posts, pages, media, terms, users; drafts with an application password", wordpress.New, nil),
		adapter("strapi", "Strapi 4 and 5 REST Content API: entries, relations, media, locales, drafts", strapi.New, nil),
		adapter("directus", "Directus REST API: items, relational fields, files", directus.New, nil),
		// commerce
		adapter("shopify", "Shopify Storefront API: products, variants, collections", shopify.New, nil),
		adapter("bigcommerce", "BigCommerce Catalog API: products, variants, categories", bigcommerce.New, nil),
		adapter("stripe", "Stripe products, with prices as variants (REST API, Events for deltas)", stripe.New, nil),
		adapter("vendure", "Vendure products, variants, collections and assets (Shop API, GraphQL)", vendure.New, nil),
		// auth
		adapter("auth0", "Auth0 users, roles and organizations (Management API v2)", auth0.New, nil),
		adapter("clerk", "Clerk users, organizations and memberships (Backend API)", clerk.New, nil),
		adapter("okta", "Okta users and groups (Management API)", okta.New, nil),
		adapter("ory", "Ory Kratos / Ory Network identities (admin API)", ory.New, nil),
	}
}
