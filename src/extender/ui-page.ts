/**
 * The /ui page: one HTML document with inline style and script (no build step, nothing loaded
 * from the network), so it works from an air-gapped cluster and from `--cluster-file`.
 * It polls /ui/state (interval: ?every=<ms>, default 2000, clamped to 1000–60000) and redraws.
 */
import { UI_SCRIPT } from './ui-page-script.js';
import { UI_STYLE } from './ui-page-style.js';

export const UI_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>linkpack — GPUs</title>
<style>${UI_STYLE}</style></head>
<body>
<header><h1>linkpack</h1><span id="status">loading…</span><span id="age" role="status"></span></header>
<main>
<div>
<section class="box" id="summary"><h3>GPUs by model</h3>
<div class="scroll"><table><thead><tr><th rowspan="2">model</th><th rowspan="2">nodes</th><th rowspan="2">GPUs</th><th rowspan="2">free</th><th rowspan="2">in use</th><th rowspan="2">un&shy;healthy</th><th rowspan="2" title="GPUs on nodes the extender cannot use now (stale heartbeat, bad GPUNode)">un&shy;available</th>
<th colspan="3" class="grp" title="nodes that can still give a free NVLink-connected set of this many GPUs">nodes with a free NVLink set of</th></tr><tr><th>2</th><th>4</th><th>8</th></tr></thead><tbody id="summary-rows"></tbody></table></div>
<p id="frag"></p></section>
<section class="box"><h3>Pending GPU pods (<span id="pending-count">0</span>)</h3><ul id="pending"></ul></section>
<div class="controls">
<input id="q" type="search" placeholder="search node, model or pod" aria-label="search node, model or pod">
<select id="model" aria-label="GPU model"><option value="">all models</option></select>
<select id="sort" aria-label="sort nodes"><option value="name">sort by name</option><option value="free">most free GPUs</option><option value="nvlink">largest free NVLink set</option><option value="model">model</option></select>
<span id="shown"></span></div>
<p class="legend"><span style="background:#e7f6e7">free</span><span style="background:#fff3c4">shared</span><span style="background:#cfe0ff">in use</span><span style="background:#ffd6d6">unhealthy</span><span style="border:2px dashed #e08a00">degraded NVLink</span> A framed group is an NVLink island; a dashed frame is a GPU with no NVLink peer.</p>
<div id="nodes"></div></div>
<aside>
<section id="detail"><h3>GPU</h3><p class="hint">Click a GPU to see its pod.</p></section>
<section><h3>Last decisions</h3><ul id="decisions"></ul></section>
</aside>
</main>
<script>${UI_SCRIPT}</script>
</body></html>
`;
