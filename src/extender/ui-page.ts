/**
 * The /ui page: one HTML document with inline style and script (no build step, nothing loaded
 * from the network), so it works from an air-gapped cluster and from `--cluster-file`.
 * It polls /ui/state (interval: ?every=<ms>, default 2000) and redraws.
 */
export const UI_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>linkpack — GPUs</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
header{padding:.6em 1em;background:#14213d;color:#fff;display:flex;gap:1em;align-items:baseline}
header h1{font-size:1.1em;margin:0}#status{opacity:.85;font-size:.9em}
main{display:grid;grid-template-columns:minmax(0,1fr) 22em;gap:1em;padding:1em}
.node{background:#fff;border:1px solid #dde;border-radius:6px;padding:.5em .7em;margin-bottom:.7em}
.node h2{font-size:1em;margin:0 0 .3em;display:flex;gap:.6em;align-items:baseline}
.node .meta{font-weight:normal;color:#666;font-size:.85em}
.node.down{border-color:#c33}.node .why{color:#b00;font-size:.85em}
.islands{display:flex;flex-wrap:wrap;gap:.5em}
.island{border:2px solid #7a9cc6;border-radius:6px;padding:.25em;display:flex;flex-wrap:wrap;gap:.25em;position:relative}
.island.single{border-style:dashed;border-color:#bbb}
.island .lbl{position:absolute;top:-.8em;left:.4em;background:#fff;font-size:.7em;color:#47a;padding:0 .2em}
.gpu{width:6.2em;min-height:3.1em;border:1px solid #999;border-radius:4px;padding:.15em .3em;font-size:.78em;cursor:pointer;text-align:left;background:#e7f6e7}
.gpu.partial{background:#fff3c4}.gpu.used{background:#cfe0ff}.gpu.unhealthy{background:#ffd6d6;border-color:#c33}
.gpu.sel{outline:3px solid #14213d}.gpu b{display:block}.gpu .pod{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
aside section{background:#fff;border:1px solid #dde;border-radius:6px;padding:.5em .7em;margin-bottom:1em}
aside h3{font-size:.95em;margin:.1em 0 .4em}#detail dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em .6em;margin:0}
#detail dt{color:#666}#decisions{list-style:none;padding:0;margin:0;max-height:60vh;overflow:auto}
.decision{border-bottom:1px solid #eee;padding:.3em 0;font-size:.85em}.decision.fail{color:#a00}.decision time{color:#888;font-size:.85em;display:block}
.legend span{display:inline-block;padding:0 .4em;border:1px solid #999;border-radius:3px;margin-right:.3em;font-size:.8em}
</style></head>
<body>
<header><h1>linkpack</h1><span id="status">loading…</span></header>
<main>
<div><p class="legend"><span style="background:#e7f6e7">free</span><span style="background:#fff3c4">shared</span><span style="background:#cfe0ff">in use</span><span style="background:#ffd6d6">unhealthy</span> A framed group is an NVLink island; a dashed frame is a GPU with no NVLink peer.</p>
<div id="nodes"></div></div>
<aside>
<section id="detail"><h3>GPU</h3><p class="hint">Click a GPU to see its pod.</p></section>
<section><h3>Last decisions</h3><ul id="decisions"></ul></section>
</aside>
</main>
<script>
"use strict";
const every = Number(new URLSearchParams(location.search).get('every')) || 2000;
let state = null, selected = null;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
function gpuClass(g) {
  if (!g.healthy) return 'unhealthy';
  if (g.freeMilli >= 1000) return 'free';
  return g.freeMilli <= 0 ? 'used' : 'partial';
}
function gpuCell(n, g) {
  const key = n.name + '/' + g.index;
  const pod = g.pods.length ? g.pods.map((p) => p.pod.split('/')[1]).join(', ') : (g.healthy ? 'free' : 'unhealthy');
  return '<button class="gpu ' + gpuClass(g) + (selected === key ? ' sel' : '') + '" data-gpu="' + esc(key) + '" title="' + esc(g.unhealthyReason || g.uuid || '') + '">' +
    '<b>GPU ' + g.index + '</b><span class="pod">' + esc(pod) + '</span></button>';
}
function nodeCard(n) {
  const byIndex = new Map(n.gpus.map((g) => [g.index, g]));
  const isl = n.islands.map((set) => {
    const single = set.length === 1;
    return '<div class="island' + (single ? ' single' : '') + '">' + (single ? '' : '<span class="lbl">NVLink ×' + set.length + '</span>') +
      set.map((i) => gpuCell(n, byIndex.get(i))).join('') + '</div>';
  }).join('');
  const model = n.gpus[0] && n.gpus[0].model ? n.gpus[0].model : '';
  const freeCount = n.gpus.filter((g) => g.healthy && g.freeMilli >= 1000).length;
  return '<div class="node' + (n.ok ? '' : ' down') + '" data-node="' + esc(n.name) + '"><h2>' + esc(n.name) +
    '<span class="meta">' + esc(model) + ' · ' + freeCount + '/' + n.gpus.length + ' free · largest free NVLink set ' + n.largestFreeNvlinkSet + '</span></h2>' +
    (n.ok ? '' : '<div class="why">' + esc(n.reason || 'not usable') + '</div>') + '<div class="islands">' + isl + '</div></div>';
}
function renderDetail() {
  const el = document.getElementById('detail');
  if (!state || !selected) return;
  const cut = selected.lastIndexOf('/');
  const n = state.nodes.find((x) => x.name === selected.slice(0, cut));
  const g = n && n.gpus.find((x) => x.index === Number(selected.slice(cut + 1)));
  if (!g) { el.innerHTML = '<h3>GPU</h3><p>' + esc(selected) + ' is gone.</p>'; return; }
  const pods = g.pods.length
    ? '<ul>' + g.pods.map((p) => '<li class="detail-pod" data-pod="' + esc(p.pod) + '">' + esc(p.pod) + (p.milli < 1000 ? ' (' + p.milli + ' milli)' : '') + (p.assumed ? ' — bound, not yet confirmed by the API' : '') + '</li>').join('') + '</ul>'
    : '<p class="detail-pod none">no pod holds this GPU</p>';
  el.innerHTML = '<h3>' + esc(n.name) + ' · GPU ' + g.index + '</h3><dl>' +
    '<dt>model</dt><dd>' + esc(g.model || '?') + '</dd><dt>memory</dt><dd>' + (g.memoryMiB ? Math.round(g.memoryMiB / 1024) + ' GiB' : '?') + '</dd>' +
    '<dt>UUID</dt><dd>' + esc(g.uuid || '?') + '</dd><dt>health</dt><dd>' + (g.healthy ? 'healthy' : 'unhealthy: ' + esc(g.unhealthyReason)) + '</dd>' +
    '<dt>free</dt><dd>' + g.freeMilli / 10 + '%</dd></dl><h3>Pods</h3>' + pods;
}
function render() {
  document.getElementById('status').textContent = (state.synced ? 'synced' : 'caches not synced yet') + ' · ' + state.nodes.length + ' nodes · updated ' + new Date(state.atIso).toLocaleTimeString();
  document.getElementById('nodes').innerHTML = state.nodes.map(nodeCard).join('');
  document.getElementById('decisions').innerHTML = state.decisions.length
    ? state.decisions.map((d) => '<li class="decision' + (d.ok ? '' : ' fail') + '" data-pod="' + esc(d.pod) + '"><time>' + esc(new Date(d.atIso).toLocaleTimeString()) + '</time><b>' + esc(d.pod) + '</b>' +
        (d.node ? ' → ' + esc(d.node) + (d.gpus.length ? ' GPUs ' + d.gpus.join(',') : '') : '') + ': ' + esc(d.text.replace(/^Bound to node \\S+ on GPUs [\\d,]+: /, '')) + '</li>').join('')
    : '<li class="decision none">no decisions yet</li>';
  renderDetail();
}
document.getElementById('nodes').addEventListener('click', (e) => {
  const b = e.target.closest('.gpu');
  if (!b) return;
  selected = b.dataset.gpu;
  render();
});
async function poll() {
  try {
    const r = await fetch('ui/state', { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    state = await r.json();
    render();
  } catch (err) {
    document.getElementById('status').textContent = 'cannot reach the extender (' + err.message + '); retrying';
  } finally {
    setTimeout(poll, every);
  }
}
poll();
</script>
</body></html>
`;
