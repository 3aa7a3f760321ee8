package reporthtml

// pageHTML is the page. It loads nothing: inline CSS, inline SVG, no script.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="contentmesh">
<title>{{.Title}}</title>
<style>
:root { --ok: #3b74c9; --nm: #7fb5a3; --retry: #e08a1e; --throttled: #d2372f; --error: #7b2c8f; --wait: #e39b3a; }
* { box-sizing: border-box; }
body { margin: 0; padding: 18px 22px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif; color: #1d2430; background: #fff; }
h1 { font-size: 20px; margin: 0 0 2px; }
h2 { font-size: 16px; margin: 26px 0 8px; }
.meta { color: #4c5566; margin: 0 0 4px; }
.slowest-line { margin: 4px 0 10px; font-weight: 600; color: #8a2b1d; }
.note { background: #fff6e0; border-left: 4px solid #e3a43a; padding: 6px 10px; margin: 8px 0; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 6px 0 8px; color: #4c5566; font-size: 13px; }
.legend span.sw { display: inline-block; width: 22px; height: 10px; margin-right: 5px; vertical-align: -1px; border-radius: 2px; }
.sw.ok { background: var(--ok); } .sw.notmodified { background: var(--nm); } .sw.retry { background: var(--retry); }
.sw.throttled { background: var(--throttled); } .sw.error { background: var(--error); }
.sw.wait { background: repeating-linear-gradient(45deg, #fdf1dc 0 3px, var(--wait) 3px 5px); }
.sw.density { background: #9aa7bd; }
svg.waterfall { display: block; width: 100%; height: auto; border: 1px solid #d9dee7; border-radius: 4px; }
svg.waterfall text { font-family: inherit; }
.axis text { font-size: 11px; fill: #5c6678; }
.grid { stroke: #e3e7ee; stroke-width: 1; }
.band { fill: #fff; fill-opacity: 0; }
.source-row:nth-of-type(even) .band { fill: #dde4ee; fill-opacity: .35; }
.source-row.slowest .band { fill: #ffc9bf; fill-opacity: .3; }
.name { font-size: 13px; font-weight: 600; fill: #1d2430; }
.type { font-size: 11px; fill: #5c6678; }
.dur { font-size: 12px; font-weight: 600; fill: #1d2430; }
.slowest .dur { fill: #b3261e; }
.empty { font-size: 12px; fill: #8a93a3; font-style: italic; }
.span { fill: #dfe5ee; }
rect.ok { fill: var(--ok); } rect.notmodified { fill: var(--nm); } rect.retry { fill: var(--retry); }
rect.throttled { fill: var(--throttled); } rect.error { fill: var(--error); }
rect.wait { fill: url(#hatch); stroke: var(--wait); stroke-width: 0.6; }
rect.density { fill: #9aa7bd; }
svg.waterfall rect:hover { stroke: #111; stroke-width: 1; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e7ee; vertical-align: top; }
th { background: #f1f4f8; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.slowest td { background: #fff1ee; }
.status { font-weight: 600; }
.status.ok { color: #1f7a3a; } .status.stale { color: #a26a00; } .status.failed { color: #b3261e; }
td.dur { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.dur svg { vertical-align: middle; margin-right: 6px; }
td.dur svg rect { fill: var(--ok); }
td.err { max-width: 420px; overflow-wrap: anywhere; color: #8a2b1d; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; margin: 4px 0 0; }
ul.dangling { font-size: 13px; }
code { font-size: 12px; overflow-wrap: anywhere; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">{{if .StartedAt}}Started {{.StartedAt}} · {{end}}took {{.Duration}} · {{.Summary}}</p>
{{if .Slowest}}<p class="slowest-line">{{.Slowest}}</p>{{end}}
{{range .Notes}}<p class="note">{{.}}</p>
{{end}}
<section id="waterfall">
<h2>Requests over time</h2>
<div class="legend">
<span><span class="sw ok"></span>answered</span>
<span><span class="sw notmodified"></span>304 not modified</span>
<span><span class="sw retry"></span>retry that succeeded</span>
<span><span class="sw throttled"></span>429 throttled</span>
<span><span class="sw error"></span>error</span>
<span><span class="sw wait"></span>waiting before the attempt (backoff, Retry-After, rate limit)</span>
{{if .Sampled}}<span><span class="sw density"></span>requests in flight (sampled sources)</span>{{end}}
</div>
{{range .Sampled}}<p class="note sampled">{{.}}</p>
{{end}}
<svg class="waterfall" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="Waterfall of the build's requests per source over time">
<defs><pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="5" height="5" fill="#fdf1dc"/><line x1="1" y1="0" x2="1" y2="5" stroke="#e39b3a" stroke-width="2"/></pattern></defs>
<g class="axis">{{range .Ticks}}
<line class="grid" x1="{{.X}}" y1="18" x2="{{.X}}" y2="{{$.AxisY}}"/><text x="{{.LabelX}}" y="14">{{.Label}}</text>{{end}}
</g>
{{range .Rows}}<g class="source-row{{if .Slowest}} slowest{{end}}" data-source="{{.Name}}" data-status="{{.Status}}">
<rect class="band" x="0" y="{{.Y}}" width="{{$.Width}}" height="{{.H}}"/>
<text class="name" x="10" y="{{.LabelY}}">{{.Name}}</text>
<text class="type" x="10" y="{{.TypeY}}">{{.TypeLine}}</text>
{{if .HasSpan}}<rect class="span" x="{{.SpanX}}" y="{{.Y}}" width="{{.SpanW}}" height="3"/>
{{end}}{{range .Density}}<rect class="density" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Tip}}</title></rect>
{{end}}{{range .Waits}}<rect class="wait" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Tip}}</title></rect>
{{end}}{{range .Bars}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Tip}}</title></rect>
{{end}}{{range .Hot}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Tip}}</title></rect>
{{end}}{{if .Empty}}<text class="empty" x="{{$.PlotX}}" dx="8" y="{{.MidY}}">{{.Empty}}</text>
{{end}}<text class="dur" x="{{$.Width}}" dx="-10" y="{{.MidY}}" text-anchor="end">{{.Duration}}</text>
</g>
{{else}}<text class="empty" x="{{.PlotX}}" dx="8" y="44">No sources.</text>
{{end}}</svg>
</section>
<section id="sources">
<h2>Sources</h2>
<table class="sources">
<thead><tr><th>Source</th><th>Type</th><th>Status</th><th class="n">Nodes</th><th class="n">Requests</th><th class="n">Retries</th><th class="n">Throttled</th><th class="n">Not modified</th><th class="n" title="summed over the requests: waits of concurrent requests overlap">Waited</th><th class="n">Bytes</th><th>Duration</th><th>Error</th></tr></thead>
<tbody>
{{range .Table}}<tr class="source{{if .Slowest}} slowest{{end}}" data-source="{{.Name}}"><td>{{.Name}}</td><td>{{.Type}}</td><td class="status {{.Status}}">{{.Status}}</td><td class="n">{{.Nodes}}</td><td class="n">{{.Requests}}</td><td class="n">{{.Retries}}</td><td class="n">{{.Throttled}}</td><td class="n">{{.NotModified}}</td><td class="n">{{.Waited}}</td><td class="n">{{.Size}}</td><td class="dur"><svg width="80" height="8" aria-hidden="true"><rect width="{{.DurBarW}}" height="8"/></svg>{{.Duration}}</td><td class="err">{{if .ErrMore}}<details><summary>{{.ErrFirst}}</summary><pre>{{.Error}}</pre></details>{{else}}{{.Error}}{{end}}</td></tr>
{{else}}<tr><td colspan="12">No sources.</td></tr>
{{end}}</tbody>
</table>
</section>
{{if .DanglingAll}}<section id="dangling">
<h2>Dangling references ({{.DanglingAll}})</h2>
<ul class="dangling">
{{range .Dangling}}<li><code>{{.From}}</code> <code>{{.Field}}</code> → <code>{{.To}}</code></li>
{{end}}{{if .DanglingMore}}<li>… and {{.DanglingMore}} more (see report.json)</li>
{{end}}</ul>
</section>
{{end}}{{if .Snapshot}}<p class="note">The previous snapshot was unusable, so every source fetched everything: {{.Snapshot}}</p>
{{end}}</body>
</html>
`
