/**
 * The style sheet of report.html, inlined so the file is self-contained (it is opened from CI
 * artifacts and mail attachments, where nothing beside it can be fetched). No web fonts: the
 * system's sans-serif and monospace faces.
 */
export const HTML_STYLE = `
:root {
  --bg: #f4f6f8; --card: #fff; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #eef1f4;
  --passed: #2f9e44; --failed: #d1242f; --crashed: #8b0e24; --timedout: #c25e00; --error: #7a4fd6;
  --notrun: #9aa4ae; --notexecuted: #c4ccd4; --warn: #bf8700; --link: #0a5bd3;
  --mono: ui-monospace, "SF Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 20px 40px; }
.muted { color: var(--muted); }
.hero { background: var(--card); border-bottom: 1px solid var(--line); border-top: 6px solid var(--passed); margin-bottom: 18px; }
.hero.bad { border-top-color: var(--failed); }
.hero.warn { border-top-color: var(--warn); }
.hero .wrap { padding-top: 18px; padding-bottom: 16px; }
.hero h1 { margin: 0 0 2px; font-size: 26px; line-height: 1.25; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.badge { font-size: 13px; font-weight: 700; letter-spacing: .04em; text-transform: uppercase; color: #fff; padding: 3px 10px; border-radius: 999px; background: var(--passed); }
.hero.bad .badge { background: var(--failed); }
.hero.warn .badge { background: var(--warn); }
.facts { margin: 6px 0 0; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 18px; }
.facts b { color: var(--ink); font-weight: 600; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0 4px; }
.tile { min-width: 104px; padding: 8px 14px 8px 12px; border-radius: 8px; background: var(--soft); border-left: 5px solid var(--notrun); color: var(--ink); }
.tile:hover { text-decoration: none; background: #e6eaef; }
.tile .n { display: block; font-size: 24px; font-weight: 700; line-height: 1.15; font-variant-numeric: tabular-nums; }
.tile .l { font-size: 12.5px; color: var(--muted); }
.tile.s-passed { border-left-color: var(--passed); } .tile.s-failed { border-left-color: var(--failed); }
.tile.s-crashed { border-left-color: var(--crashed); } .tile.s-timedout { border-left-color: var(--timedout); }
.tile.s-error { border-left-color: var(--error); } .tile.s-notexecuted { border-left-color: var(--notexecuted); }
.tile.s-flaky { border-left-color: var(--warn); } .tile.s-regression { border-left-color: var(--failed); background: #ffebe9; }
nav.toc { margin-top: 12px; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; }
nav.toc a { color: var(--muted); } nav.toc a:hover { color: var(--link); }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px 18px; margin: 0 0 18px; }
section.card > h2 { margin: 0 0 10px; font-size: 18px; display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
section.card > h2 .count { font-size: 13px; font-weight: 600; color: var(--muted); }
h3 { font-size: 15px; margin: 14px 0 6px; }
.alert { border-radius: 8px; padding: 10px 14px; margin: 0 0 18px; background: #fff8c5; border: 1px solid #e7d27c; }
.alert.bad { background: #ffebe9; border-color: #ffb8b0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); padding: 6px 10px 6px 0; white-space: nowrap; }
td { border-bottom: 1px solid var(--soft); padding: 5px 10px 5px 0; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:last-child td { border-bottom: 0; }
td.why { color: var(--muted); }
.chip { display: inline-block; font-size: 11.5px; font-weight: 600; padding: 0 8px; border-radius: 999px; line-height: 19px; white-space: nowrap; background: var(--soft); color: var(--muted); }
.chip.s-passed { background: #dafbe1; color: #116329; } .chip.s-failed { background: #ffebe9; color: #a40e26; }
.chip.s-crashed { background: var(--crashed); color: #fff; } .chip.s-timedout { background: #fff1e5; color: #953800; }
.chip.s-error { background: #f3eeff; color: #5a32a3; } .chip.s-notexecuted { background: #fff; border: 1px dashed var(--notexecuted); line-height: 17px; }
.chip.flaky, .chip.warn { background: #fff8c5; color: #7d4e00; } .chip.fatal { background: var(--crashed); color: #fff; }
.chip.corrupted { background: #fff1e5; color: #953800; }
.failure { border: 1px solid var(--line); border-left: 5px solid var(--failed); border-radius: 8px; padding: 10px 14px 12px; margin: 0 0 12px; }
.failure.s-crashed { border-left-color: var(--crashed); } .failure.s-timedout { border-left-color: var(--timedout); }
.failure.s-error { border-left-color: var(--error); }
.failure:target { box-shadow: 0 0 0 3px #9ec5fe; }
.failure h3 { margin: 0; font-size: 15.5px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.failure h3 code { font-size: 15px; font-weight: 700; }
.where { color: var(--muted); font-size: 12.5px; }
.message { margin: 6px 0 4px; font-family: var(--mono); font-size: 12.5px; white-space: pre-wrap; overflow-wrap: anywhere; }
.crash-title { margin: 6px 0 4px; font-weight: 600; color: var(--crashed); overflow-wrap: anywhere; }
.files { margin: 6px 0 0; font-size: 12.5px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
.files a { font-family: var(--mono); }
pre.block { margin: 6px 0 0; padding: 8px 10px; background: #f6f8fa; border: 1px solid var(--soft); border-radius: 6px; max-height: 30em; overflow: auto; white-space: pre; line-height: 1.45; }
pre.block .add { background: #dafbe1; color: #116329; display: inline-block; min-width: 100%; }
pre.block .del { background: #ffebe9; color: #a40e26; display: inline-block; min-width: 100%; }
pre.block .hunk { color: #6639ba; } pre.block .file { color: var(--muted); font-weight: 600; }
pre.block .hl { background: #ffebe9; color: #a40e26; font-weight: 600; display: inline-block; min-width: 100%; }
details { margin: 6px 0 0; }
details > summary { cursor: pointer; color: var(--muted); font-size: 13px; user-select: none; }
details > summary:hover { color: var(--ink); }
details[open] > summary { margin-bottom: 2px; }
.attempts { margin: 6px 0 0; font-size: 12.5px; color: var(--muted); }
.crash { border: 1px solid var(--line); border-left: 5px solid var(--crashed); border-radius: 8px; padding: 10px 14px 12px; margin: 0 0 12px; }
.crash.nonfatal { border-left-color: var(--warn); }
.crash .meta { font-size: 12.5px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 2px 16px; margin-top: 4px; }
.crash .meta b { color: var(--ink); font-weight: 600; }
.timeline-scroll { overflow-x: auto; border: 1px solid var(--soft); border-radius: 8px; background: #fff; }
svg.timeline { display: block; min-width: 100%; height: auto; font: 11px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
svg.timeline .grid { stroke: #e3e8ee; stroke-width: 1; }
svg.timeline .tick { fill: var(--muted); text-anchor: middle; font-size: 10.5px; font-variant-numeric: tabular-nums; }
svg.timeline .stripe { fill: #fafbfc; }
svg.timeline .lane-name { font-weight: 700; font-size: 12px; fill: var(--ink); }
svg.timeline .lane-note { fill: var(--muted); text-anchor: end; font-size: 10.5px; }
svg.timeline .lane-note.lost-crash { fill: var(--crashed); font-weight: 600; }
svg.timeline .lane-note.lost-hang { fill: var(--timedout); font-weight: 600; }
svg.timeline .lane-note.lost-qemu-exit, svg.timeline .lane-note.lost-transport, svg.timeline .lane-note.lost-boot-failure { fill: var(--error); font-weight: 600; }
svg.timeline .alive { fill: #e9edf1; }
svg.timeline .boot rect { fill: url(#hatch); stroke: #b7c0ca; stroke-width: .6; }
svg.timeline .boot text { fill: #424a53; text-anchor: middle; font-size: 10.5px; }
svg.timeline .hatch-bg { fill: #dde3e9; } svg.timeline .hatch-line { stroke: #c3ccd5; stroke-width: 3; }
svg.timeline .bar { stroke: #fff; stroke-width: 1; }
svg.timeline .b-passed { fill: var(--passed); } svg.timeline .b-failed { fill: var(--failed); }
svg.timeline .b-crashed { fill: var(--crashed); } svg.timeline .b-timedout { fill: var(--timedout); }
svg.timeline .b-error { fill: var(--error); } svg.timeline .b-notrun { fill: #c9d0d7; }
svg.timeline .bar-text { fill: #fff; font-size: 10.5px; font-weight: 600; pointer-events: none; }
svg.timeline .bar-text.t-notrun { fill: #32383f; font-weight: 500; }
svg.timeline a.bar-link:hover .bar { stroke: var(--ink); stroke-width: 1.5; }
svg.timeline .marker circle { stroke: #fff; stroke-width: 2; }
svg.timeline .marker .glyph { stroke: #fff; stroke-width: 2; fill: none; stroke-linecap: round; }
svg.timeline .marker-crash circle { fill: var(--crashed); } svg.timeline .marker-hang circle { fill: var(--timedout); }
svg.timeline .marker-lost circle { fill: var(--error); }
svg.timeline .marker-report { fill: #f2c94c; stroke: #7d4e00; stroke-width: .8; }
svg.timeline .group-head line { stroke: var(--line); } svg.timeline .group-head text { fill: var(--muted); font-size: 11.5px; }
svg.timeline .group-head .run-id { fill: var(--ink); font-weight: 700; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 10px 2px 0; font-size: 12.5px; color: var(--muted); }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.legend .sw { display: inline-block; width: 16px; height: 11px; border-radius: 2px; }
.legend .sw.b-passed { background: var(--passed); } .legend .sw.b-failed { background: var(--failed); }
.legend .sw.b-crashed { background: var(--crashed); } .legend .sw.b-timedout { background: var(--timedout); }
.legend .sw.b-error { background: var(--error); } .legend .sw.b-notrun { background: #c9d0d7; }
.legend .sw-boot { background: repeating-linear-gradient(45deg, #dde3e9 0 3px, #c3ccd5 3px 5px); }
.legend .sw-alive { background: #e9edf1; }
.legend .mk { display: inline-flex; width: 15px; height: 15px; border-radius: 50%; color: #fff; font-size: 10px; font-style: normal; font-weight: 700; align-items: center; justify-content: center; }
.legend .mk-crash { background: var(--crashed); } .legend .mk-hang { background: var(--timedout); } .legend .mk-lost { background: var(--error); }
.legend .mk-report { display: inline-block; width: 0; height: 0; border-left: 6px solid transparent; border-right: 6px solid transparent; border-bottom: 10px solid #f2c94c; }
.timeline-notes { margin: 8px 0 0; padding-left: 18px; color: var(--muted); font-size: 13px; }
.delta-up { color: var(--failed); font-weight: 600; } .delta-down { color: var(--passed); font-weight: 600; }
.dbar { display: inline-block; height: 8px; border-radius: 2px; vertical-align: middle; }
.dbar.up { background: #ff8182; } .dbar.down { background: #6fdd8b; }
td.dcell { width: 28%; }
.reasons li { margin: 2px 0; }
.reasons .tests { color: var(--muted); font-family: var(--mono); font-size: 12px; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin: 8px 0 0; }
@media print { .timeline-scroll { overflow: visible; } pre.block { max-height: none; } }
`;
