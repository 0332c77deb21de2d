/**
 * The /ui page's script (plain browser JavaScript, kept as text: no build step). It polls
 * ui/state, draws the summary, pending pods and node cards, and filters/sorts on the client.
 * The interval is clamped to 1–60 s (`?every=-5` once made a page send 4,041 requests in 30 s),
 * and the page dims with its data's age once two polls have gone unanswered.
 */
export const UI_SCRIPT = `
"use strict";
const asked = Number(new URLSearchParams(location.search).get('every'));
const every = Math.min(60000, Math.max(1000, Number.isFinite(asked) && asked > 0 ? asked : 2000));
let state = null, stateText = '', selected = null, lastOk = 0, lastError = '', renders = 0;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const time = (iso) => esc(new Date(iso).toLocaleTimeString());
function gpuClass(g) {
  if (!g.healthy) return 'unhealthy';
  if (g.freeMilli >= 1000) return 'free';
  return g.freeMilli <= 0 ? 'used' : 'partial';
}
const modelOf = (n) => (n.gpus[0] && n.gpus[0].model) || '';
const freeOf = (n) => n.gpus.filter((g) => g.healthy && g.freeMilli >= 1000).length;
function gpuCell(n, g, down) {
  const key = n.name + '/' + g.index;
  const pod = g.pods.length ? g.pods.map((p) => p.pod.split('/')[1]).join(', ') : (g.healthy ? 'free' : 'unhealthy');
  const tip = down.length ? 'degraded NVLink to GPU ' + down.join(', ') : (g.unhealthyReason || g.uuid || '');
  return '<button class="gpu ' + gpuClass(g) + (down.length ? ' link-down' : '') + (selected === key ? ' sel' : '') + '" data-gpu="' + esc(key) + '" title="' + esc(tip) + '">' +
    '<b>GPU ' + g.index + '</b><span class="pod">' + esc(pod) + '</span></button>';
}
function nodeCard(n) {
  const byIndex = new Map(n.gpus.map((g) => [g.index, g]));
  const downOf = (i) => n.degradedLinks.filter((d) => d.gpus.includes(i)).map((d) => d.gpus[0] === i ? d.gpus[1] : d.gpus[0]);
  const isl = n.islands.map((set) => {
    const single = set.length === 1;
    const broken = n.degradedLinks.filter((d) => set.includes(d.gpus[0])).length;
    const lbl = single ? '' : '<span class="lbl">NVLink ×' + set.length + (broken ? ' · ' + broken + ' link' + (broken > 1 ? 's' : '') + ' degraded' : '') + '</span>';
    return '<div class="island' + (single ? ' single' : '') + (broken ? ' degraded' : '') + '">' + lbl + set.map((i) => gpuCell(n, byIndex.get(i), downOf(i))).join('') + '</div>';
  }).join('');
  const deg = n.degradedLinks.length
    ? '<div class="deg">degraded NVLink: ' + n.degradedLinks.map((d) => 'GPU ' + d.gpus[0] + '–' + d.gpus[1] + (d.reasons.length ? ' (' + esc(d.reasons.join('; ')) + ')' : '')).join(', ') + ' — not used for NVLink sets</div>' : '';
  return '<div class="node' + (n.ok ? '' : ' down') + '" data-node="' + esc(n.name) + '"><h2>' + esc(n.name) +
    '<span class="meta">' + esc(modelOf(n)) + ' · ' + freeOf(n) + '/' + n.gpus.length + ' free · largest free NVLink set ' + n.largestFreeNvlinkSet + '</span></h2>' +
    (n.ok ? '' : '<div class="why">' + esc(n.reason || 'not usable') + '</div>') + deg + '<div class="islands">' + isl + '</div></div>';
}
function summaryRow(s, cls) {
  return '<tr class="' + cls + '" data-model="' + esc(s.model) + '"><td>' + esc(s.model) + '</td><td>' + s.nodes + '</td><td>' + s.gpus + '</td><td class="free">' + s.free + '</td><td class="inuse">' + s.inUse +
    '</td><td class="unhealthy">' + s.unhealthy + '</td><td>' + s.unavailable + '</td><td class="nv2">' + s.nvlinkSetNodes[2] + '</td><td class="nv4">' + s.nvlinkSetNodes[4] + '</td><td class="nv8">' + s.nvlinkSetNodes[8] + '</td></tr>';
}
function renderSummary() {
  const s = state.summary;
  $('summary-rows').innerHTML = s.models.map((m) => summaryRow(m, 'model')).join('') + (s.models.length > 1 ? summaryRow(s.all, 'all') : '');
  $('frag').innerHTML = 'Fragmentation: <b id="frag-pct">' + (s.fragmentationPercent === undefined ? '—' : s.fragmentationPercent + '%') + '</b> <span id="frag-meaning">' + esc(s.fragmentationMeaning) + '</span>';
  const models = [...new Set(state.nodes.map(modelOf).filter(Boolean))].sort();
  const sel = $('model'), cur = sel.value;
  const opts = '<option value="">all models</option>' + models.map((m) => '<option' + (m === cur ? ' selected' : '') + '>' + esc(m) + '</option>').join('');
  if (sel.innerHTML !== opts) sel.innerHTML = opts;
}
function matches(text, q) { return !q || text.toLowerCase().includes(q); }
const SORTS = {
  name: (a, b) => a.name.localeCompare(b.name),
  free: (a, b) => freeOf(b) - freeOf(a) || a.name.localeCompare(b.name),
  nvlink: (a, b) => b.largestFreeNvlinkSet - a.largestFreeNvlinkSet || a.name.localeCompare(b.name),
  model: (a, b) => modelOf(a).localeCompare(modelOf(b)) || a.name.localeCompare(b.name),
};
function renderLists() {
  const q = $('q').value.trim().toLowerCase(), model = $('model').value;
  const nodes = state.nodes.filter((n) => (!model || modelOf(n) === model) &&
    matches(n.name + ' ' + modelOf(n) + ' ' + n.gpus.map((g) => g.pods.map((p) => p.pod).join(' ')).join(' '), q));
  nodes.sort(SORTS[$('sort').value] || SORTS.name);
  $('nodes').innerHTML = nodes.map(nodeCard).join('') || '<p class="none">no node matches</p>';
  $('shown').textContent = nodes.length + ' of ' + state.nodes.length + ' nodes';
  const pending = state.pending.filter((p) => matches(p.pod + ' ' + p.ask + ' ' + p.reason, q));
  $('pending').innerHTML = pending.length
    ? pending.map((p) => '<li class="pending" data-pod="' + esc(p.pod) + '"><time>' + time(p.atIso) + '</time><b>' + esc(p.pod) + '</b> asks ' + esc(p.ask) + ': <span class="why">' + esc(p.reason) + '</span></li>').join('')
    : '<li class="pending none">' + (state.pending.length ? 'no pending pod matches' : 'no GPU pod is waiting') + '</li>';
  $('pending-count').textContent = String(state.pending.length);
  const decisions = state.decisions.filter((d) => matches(d.pod + ' ' + (d.node || ''), q));
  $('decisions').innerHTML = decisions.length
    ? decisions.map((d) => '<li class="decision' + (d.ok ? '' : ' fail') + '" data-pod="' + esc(d.pod) + '"><time>' + time(d.atIso) + '</time><b>' + esc(d.pod) + '</b>' +
        (d.node ? ' → ' + esc(d.node) + (d.gpus.length ? ' GPUs ' + d.gpus.join(',') : '') : '') + ': ' + esc(d.text.replace(/^Bound to node \\S+ on GPUs [\\d,]+: /, '')) + '</li>').join('')
    : '<li class="decision none">no decisions yet</li>';
}
function renderDetail() {
  const el = $('detail');
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
  const t0 = performance.now();
  renderSummary();
  renderLists();
  renderDetail();
  renders++;
  document.body.dataset.renders = String(renders);
  window.lpRenderMs = performance.now() - t0;
}
function showAge() {
  const age = Math.round((Date.now() - lastOk) / 1000);
  const stale = lastOk > 0 && Date.now() - lastOk > 2 * every + 500;
  document.body.classList.toggle('stale', stale);
  $('age').textContent = stale ? 'data is ' + age + ' s old' : '';
  $('age').title = stale && lastError ? 'the extender does not answer: ' + lastError : '';
  if (state) $('status').textContent = (state.synced ? 'synced' : 'caches not synced yet') + ' · ' + state.nodes.length + ' nodes · updated ' + time(state.atIso) + ' · every ' + every / 1000 + ' s';
}
for (const id of ['q', 'model', 'sort']) $(id).addEventListener('input', () => state && renderLists());
$('nodes').addEventListener('click', (e) => {
  const b = e.target.closest('.gpu');
  if (!b) return;
  selected = b.dataset.gpu;
  renderLists();
  renderDetail();
});
async function poll() {
  // A hung request must not stop the polling: give up after a while and try again.
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), Math.max(5000, every));
  try {
    const r = await fetch('ui/state', { cache: 'no-store', signal: ctl.signal });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const text = await r.text();
    lastOk = Date.now();
    // The server answers from a snapshot rebuilt once a second: an unchanged one is not redrawn.
    if (text !== stateText) { stateText = text; state = JSON.parse(text); render(); }
    showAge();
  } catch (err) {
    lastError = err.message;
    if (!state) $('status').textContent = 'cannot reach the extender (' + err.message + '); retrying';
  } finally {
    clearTimeout(timer);
    setTimeout(poll, every);
  }
}
setInterval(showAge, 1000);
poll();
`;
