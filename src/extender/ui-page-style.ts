/**
 * The /ui page's style. One column below 900 px (a phone at 390 px reads the summary, pending
 * pods, nodes, then the decisions); node cards flow into as many columns as fit on a wide screen.
 * Wide tables scroll inside their own box so the page itself never scrolls sideways.
 */
export const UI_STYLE = `
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
header{padding:.6em 1em;background:#14213d;color:#fff;display:flex;flex-wrap:wrap;gap:.3em 1em;align-items:baseline}
header h1{font-size:1.1em;margin:0}#status{opacity:.85;font-size:.9em}
#age{display:none;background:#ffd166;color:#14213d;border-radius:3px;padding:0 .4em;font-weight:bold}
body.stale #age{display:inline}
body.stale main{opacity:.45;filter:grayscale(.8)}
main{display:grid;grid-template-columns:minmax(0,1fr) 24em;gap:1em;padding:1em;transition:opacity .3s}
@media (max-width:900px){main{grid-template-columns:minmax(0,1fr);padding:.5em}}
section.box,aside section{background:#fff;border:1px solid #dde;border-radius:6px;padding:.5em .7em;margin-bottom:1em;min-width:0}
h3{font-size:.95em;margin:.1em 0 .4em}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.85em}
th,td{padding:.15em .5em;text-align:right;white-space:nowrap;border-bottom:1px solid #eee}
tr:first-child>th:first-child,td:first-child{text-align:left;white-space:normal}
th{vertical-align:bottom;font-weight:600;color:#444}th.grp{text-align:center;white-space:normal;border-bottom:1px solid #ccd}
@media (max-width:600px){table{font-size:.75em}th,td{padding:.1em .3em}th{white-space:normal}td:first-child{min-width:6em}}
tr.all td{font-weight:bold;border-top:2px solid #ccd}
#frag{margin:.5em 0 0;font-size:.9em}#frag b{font-size:1.1em}
#pending{list-style:none;padding:0;margin:0;max-height:40vh;overflow:auto}
.pending{border-bottom:1px solid #eee;padding:.3em 0;font-size:.85em;overflow-wrap:anywhere}
.pending .why{color:#a00}.pending time,.decision time{color:#888;font-size:.85em;display:block}
.controls{display:flex;flex-wrap:wrap;gap:.5em;margin-bottom:.7em;align-items:center}
.controls input,.controls select{font:inherit;padding:.2em .4em;min-width:0;max-width:100%}
.controls input{flex:1 1 12em}
#shown{color:#666;font-size:.85em}
#nodes{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,36em),1fr));gap:.7em}
.node{background:#fff;border:1px solid #dde;border-radius:6px;padding:.5em .7em;min-width:0}
.node h2{font-size:1em;margin:0 0 .3em;display:flex;flex-wrap:wrap;gap:.2em .6em;align-items:baseline;overflow-wrap:anywhere}
.node .meta{font-weight:normal;color:#666;font-size:.85em}
.node.down{border-color:#c33}.node .why{color:#b00;font-size:.85em}
.node .deg{color:#a55a00;font-size:.85em;margin:.2em 0}
.islands{display:flex;flex-wrap:wrap;gap:.8em .5em;padding-top:.4em}
.island{border:2px solid #7a9cc6;border-radius:6px;padding:.25em;display:flex;flex-wrap:wrap;gap:.25em;position:relative;max-width:100%}
.island.single{border-style:dashed;border-color:#bbb}.island.degraded{border-color:#e08a00;border-style:double;border-width:4px}
.island .lbl{position:absolute;top:-.8em;left:.4em;background:#fff;font-size:.7em;color:#47a;padding:0 .2em;white-space:nowrap}
.island.degraded .lbl{color:#a55a00}
.gpu{width:6.2em;min-height:3.1em;border:1px solid #999;border-radius:4px;padding:.15em .3em;font-size:.78em;cursor:pointer;text-align:left;background:#e7f6e7;color:inherit}
.gpu.partial{background:#fff3c4}.gpu.used{background:#cfe0ff}.gpu.unhealthy{background:#ffd6d6;border-color:#c33}
.gpu.link-down{border:2px dashed #e08a00}
.gpu.sel{outline:3px solid #14213d}.gpu b{display:block}.gpu .pod{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
#detail dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em .6em;margin:0}
#detail dt{color:#666}#detail dd{margin:0;overflow-wrap:anywhere}
#decisions{list-style:none;padding:0;margin:0;max-height:50vh;overflow:auto}
.decision{border-bottom:1px solid #eee;padding:.3em 0;font-size:.85em;overflow-wrap:anywhere}.decision.fail{color:#a00}
.legend{font-size:.85em}.legend span{display:inline-block;padding:0 .4em;border:1px solid #999;border-radius:3px;margin-right:.3em;font-size:.9em}
.none{color:#888}
`;
