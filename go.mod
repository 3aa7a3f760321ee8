module github.com/contentmesh/contentmesh

go 1.26.0

require (
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/tidwall/gjson v1.20.2
	github.com/yuin/goldmark v1.8.7
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sync v0.25.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
)
