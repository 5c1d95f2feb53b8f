// The live dashboard (SPEC §7, `GET /`): one self-contained page, inline CSS and vanilla
// JS, no external resources and no build step. It polls `/api/status` and `/api/history`
// and draws the last hour as SVG line charts. Opened as `/?token=…` it sends that token as
// `Authorization: Bearer` on its fetches. Text from the daemon is inserted with
// `textContent` only (never innerHTML).
//
// Stable hooks for tests and scrapers: `#ingest-rate .value`, `#backlog .value`,
// `#link .value`, `svg#chart-ingest|chart-backlog|chart-link path[data-points]`,
// `#alerts tbody tr[data-rule][data-state]`, `#rules tbody tr[data-rule] .raised|.cleared`,
// `#rules-loaded`, `#rules-issues li`, `#devices tbody tr[data-device]`,
// `#event-types tbody tr[data-type] .minute|.total`, `#errors .value` (per minute) and
// `#errors .rejected|.store-errors`, `#latency tbody tr[data-latency=ack|reading-to-alert|forward]
// .p50|.p99|.count|.p50-all|.p99-all`, `#sensors tbody tr[data-device][data-sensor]
// .value|.unit|.time|.readings` with `svg.spark path[data-points]`, `body[data-updates]`
// (count of successful refreshes) and `#error` (the last failure, empty when fine).

/** Only inline script and style, same-origin fetches, and the empty data: favicon. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
  "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,sans-serif;background:#f4f5f7;color:#1d2330}
header{display:flex;flex-wrap:wrap;gap:.3em 1em;align-items:baseline;padding:.6em 1em;background:#1d2330;color:#fff}
header h1{font-size:1.1em;margin:0}
header span{opacity:.8;font-size:.9em}
main{padding:.6em;display:grid;gap:.6em;grid-template-columns:repeat(auto-fit,minmax(280px,1fr))}
section{background:#fff;border-radius:6px;padding:.6em .8em;box-shadow:0 1px 2px #0002;min-width:0}
section.wide{grid-column:1/-1}
h2{font-size:.95em;margin:0 0 .3em;color:#555;font-weight:600}
.value{font-size:1.6em;font-weight:600}
.unit,.scale{color:#777;font-size:.85em}
svg{width:100%;height:80px;display:block;background:#fafbfc;border:1px solid #e3e6ea}
svg path{fill:none;stroke:#2563eb;stroke-width:1.5;vector-effect:non-scaling-stroke}
.tbl{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{text-align:left;padding:.25em .4em;border-bottom:1px solid #eee;white-space:nowrap}
td.msg{white-space:normal}
tr[data-state=raised] .state{color:#b91c1c;font-weight:600}
tr[data-state=cleared] .state{color:#15803d}
svg.spark{width:120px;height:24px;display:inline-block;vertical-align:middle;border:0;background:none}
td.num,th.num{text-align:right}
td.value{font-size:inherit}
#errors[data-errors=true] .value{color:#b91c1c}
#error{color:#b91c1c}
#error:empty{display:none}
.empty{color:#999}
`;

const SCRIPT = `
(function () {
  'use strict';
  var token = new URLSearchParams(location.search).get('token');
  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  var W = 300, H = 80, pollMs = 5000, updates = 0;
  function $(s) { return document.querySelector(s); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function get(path) {
    return fetch(path, { headers: headers, cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function num(n, digits) { return typeof n === 'number' ? n.toFixed(digits) : '-'; }
  function bytes(n) {
    if (typeof n !== 'number') return '-';
    var u = ['B', 'kB', 'MB', 'GB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + u[i];
  }
  function clock(iso) { var d = new Date(iso); return isNaN(d) ? String(iso) : d.toLocaleTimeString(); }
  function fill(tbody, rows, cols) {
    tbody.replaceChildren();
    if (rows.length === 0) {
      var tr = el('tr'), td = el('td', 'none', 'empty');
      td.colSpan = cols; tr.appendChild(td); tbody.appendChild(tr);
    }
    rows.forEach(function (r) {
      var tr = el('tr');
      Object.keys(r.data || {}).forEach(function (k) { tr.setAttribute('data-' + k, String(r.data[k])); });
      r.cells.forEach(function (c) { tr.appendChild(el('td', c[1], c[0])); });
      tbody.appendChild(tr);
    });
  }
  function ms(v) { return typeof v === 'number' ? (v < 10 ? v.toFixed(2) : v.toFixed(0)) + ' ms' : '-'; }
  function shown(v) { return v === null || v === undefined ? '-' : String(v); }
  // A sparkline of a sensor's recent values: one line, broken where a value was not a number.
  function spark(values) {
    var NS = 'http://www.w3.org/2000/svg', w = 120, h = 24;
    var svg = document.createElementNS(NS, 'svg'), path = document.createElementNS(NS, 'path');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.setAttribute('preserveAspectRatio', 'none');
    var nums = values.filter(function (v) { return typeof v === 'number'; });
    var lo = Math.min.apply(null, nums), hi = Math.max.apply(null, nums), d = '', pen = false;
    values.forEach(function (v, i) {
      if (typeof v !== 'number') { pen = false; return; }
      var x = values.length === 1 ? w / 2 : (i / (values.length - 1)) * w;
      var y = hi === lo ? h / 2 : h - 2 - ((v - lo) / (hi - lo)) * (h - 4);
      d += (pen ? ' L' : (d ? ' M' : 'M')) + x.toFixed(1) + ' ' + y.toFixed(1);
      pen = true;
    });
    path.setAttribute('d', d);
    path.setAttribute('data-points', String(nums.length));
    svg.appendChild(path);
    return svg;
  }
  function chart(id, points, end, span, step, fixedMax) {
    var svg = document.getElementById(id), path = svg.querySelector('path');
    var max = fixedMax || Math.max.apply(null, [1].concat(points.map(function (p) { return p.v; })));
    var d = '';
    points.forEach(function (p, i) {
      var x = Math.max(0, W - ((end - p.t) / span) * W).toFixed(1);
      var y = (H - 2 - (p.v / max) * (H - 4)).toFixed(1);
      d += i === 0 ? 'M' + x + ' ' + y : step ? ' H' + x + ' V' + y : ' L' + x + ' ' + y;
    });
    if (points.length === 1) d += ' h1';
    path.setAttribute('d', d);
    path.setAttribute('data-points', String(points.length));
    svg.setAttribute('data-max', String(max));
    var scale = svg.parentNode.querySelector('.scale');
    if (scale && !fixedMax) scale.textContent = 'max ' + (Math.round(max * 100) / 100);
  }
  function render(status, hist) {
    var s = hist.samples || [];
    var end = s.length ? s[s.length - 1].t : Date.now();
    var span = (hist.intervalMs || 10000) * (hist.capacity || 360);
    pollMs = Math.max(500, Math.min(5000, hist.intervalMs || 5000));
    // Ingest: the mean rate over the last minute, so a short burst stays visible.
    var recent = s.filter(function (p) { return p.t > end - 60000; });
    var rate = recent.length ? recent.reduce(function (a, p) { return a + p.ingestRate; }, 0) / recent.length : 0;
    $('#ingest-rate .value').textContent = num(rate, 2);
    chart('chart-ingest', s.map(function (p) { return { t: p.t, v: p.ingestRate }; }), end, span, false);
    var up = status.upstream;
    $('#backlog .value').textContent = String(up ? up.backlog : s.length ? s[s.length - 1].backlog : 0);
    $('#backlog .unit').textContent = up && up.oldestUnsentSeconds ? 'events, oldest ' + up.oldestUnsentSeconds + ' s' : 'events';
    chart('chart-backlog', s.map(function (p) { return { t: p.t, v: p.backlog }; }), end, span, false);
    $('#link .value').textContent = up ? (up.connected ? 'connected' : 'disconnected') : 'store-only';
    $('#link').setAttribute('data-connected', up ? String(up.connected) : 'null');
    chart('chart-link', s.map(function (p) { return { t: p.t, v: p.upstreamConnected ? 1 : 0 }; }), end, span, true, 1);

    $('#gw').textContent = status.gatewayId + ' (' + status.version + ')';
    $('#state').textContent = status.state;
    $('#seq').textContent = 'seq ' + status.lastSeq;
    $('#store').textContent = bytes(status.storeBytes) + ', DLQ ' + status.dlqEvents;
    $('#clients').textContent = status.clients + ' clients';

    fill($('#alerts tbody'), (hist.alerts || []).map(function (a) {
      return { data: { rule: a.rule, state: a.state }, cells: [['', clock(a.time)], ['rule', a.rule], ['', a.group || ''], ['state', a.state], ['msg', a.message || '']] };
    }), 5);

    var rules = status.rules || { loaded: 0, issues: [], alerts: {} };
    $('#rules-loaded').textContent = String(rules.loaded);
    fill($('#rules tbody'), Object.keys(rules.alerts || {}).sort().map(function (id) {
      var c = rules.alerts[id];
      return { data: { rule: id }, cells: [['rule', id], ['raised', c.raised], ['cleared', c.cleared]] };
    }), 3);
    var issues = $('#rules-issues');
    issues.replaceChildren();
    (rules.issues || []).forEach(function (i) { issues.appendChild(el('li', typeof i === 'string' ? i : JSON.stringify(i))); });

    var devices = (status.devices && status.devices.devices) || [];
    fill($('#devices tbody'), devices.map(function (d) {
      var r = d.lastReading;
      var last = r ? r.sensor + ' = ' + r.value + (r.unit ? ' ' + r.unit : '') + ' at ' + clock(r.at) : '-';
      return { data: { device: d.id, state: d.state }, cells: [['id', d.id], ['state', d.state], ['last', last], ['readings', d.readings]] };
    }), 4);
    renderSummary(status);
  }
  // The traffic summary of /api/status: events by type, errors, latencies, sensors.
  function renderSummary(status) {
    var byType = (status.events && status.events.byType) || {};
    fill($('#event-types tbody'), Object.keys(byType).filter(function (t) { return byType[t].total > 0; }).map(function (t) {
      return { data: { type: t }, cells: [['type', t], ['minute num', byType[t].lastMinute], ['total num', byType[t].total]] };
    }), 3);

    var errors = status.errors || { perMinute: 0, rejected: { lastMinute: 0, total: 0 }, storeErrors: { lastMinute: 0, total: 0 } };
    $('#errors .value').textContent = String(errors.perMinute);
    $('#errors .rejected').textContent = String(errors.rejected.lastMinute) + ' (' + errors.rejected.total + ' since start)';
    $('#errors .store-errors').textContent = String(errors.storeErrors.lastMinute) + ' (' + errors.storeErrors.total + ' since start)';
    $('#errors').setAttribute('data-errors', String(errors.perMinute > 0));

    var latency = status.latency || {};
    var stages = [['ack', 'publish \u2192 PUBACK', latency.ack], ['reading-to-alert', 'reading \u2192 alert', latency.readingToAlert], ['forward', 'upstream publish \u2192 PUBACK', latency.forward]];
    fill($('#latency tbody'), stages.filter(function (s) { return s[2]; }).map(function (s) {
      var m = s[2].lastMinute, a = s[2].sinceStart;
      return { data: { latency: s[0] }, cells: [['what', s[1]], ['p50 num', ms(m.p50Ms)], ['p99 num', ms(m.p99Ms)], ['count num', m.count], ['p50-all num', ms(a.p50Ms)], ['p99-all num', ms(a.p99Ms)]] };
    }), 6);

    var sensors = status.sensors || { rows: [], limit: 0, evicted: 0 };
    var body = $('#sensors tbody');
    fill(body, sensors.rows.map(function (r) {
      return { data: { device: r.device, sensor: r.sensor }, cells: [['device', r.device], ['sensor', r.sensor], ['value num', shown(r.value)], ['unit', r.unit || ''], ['time', clock(r.time)], ['trend', ''], ['readings num', r.readings]] };
    }), 7);
    sensors.rows.forEach(function (r, i) { body.rows[i].querySelector('.trend').appendChild(spark(r.spark || [])); });
    $('#sensors-count').textContent = sensors.rows.length + (sensors.evicted ? ', ' + sensors.evicted + ' dropped (at most ' + sensors.limit + ' kept)' : '');
  }
  function tick() {
    Promise.all([get('/api/status'), get('/api/history')]).then(function (r) {
      render(r[0], r[1]);
      $('#error').textContent = '';
      $('#updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      document.body.setAttribute('data-updates', String(++updates));
    }, function (err) {
      $('#error').textContent = 'refresh failed: ' + err.message;
    }).then(function () { setTimeout(tick, pollMs); });
  }
  tick();
})();
`;

function card(id: string, title: string, unit: string, scale: boolean): string {
  return `<section id="${id}"><h2>${title}</h2><span class="value">-</span> <span class="unit">${unit}</span>` +
    `<svg id="chart-${id === 'ingest-rate' ? 'ingest' : id}" viewBox="0 0 300 80" preserveAspectRatio="none" role="img" aria-label="${title}, last hour"><path d="" data-points="0"/></svg>` +
    `<span class="scale">${scale ? '' : '0 = down, 1 = up'}</span></section>`;
}

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>edgebus</title>
<style>${STYLE}</style>
</head>
<body data-updates="0">
<header><h1>edgebus</h1><span id="gw">-</span><span id="state">-</span><span id="seq"></span><span id="store"></span><span id="clients"></span><span id="updated"></span><span id="error"></span></header>
<main>
${card('ingest-rate', 'Ingest', 'events/s (1 min avg)', true)}
${card('backlog', 'Upstream backlog', 'events', true)}
${card('link', 'Upstream link', '', false)}
<section id="alerts" class="wide"><h2>Recent alerts</h2><div class="tbl"><table><thead><tr><th>time</th><th>rule</th><th>group</th><th>state</th><th>message</th></tr></thead><tbody></tbody></table></div></section>
<section id="rules"><h2>Rules (<span id="rules-loaded">-</span> loaded)</h2><div class="tbl"><table><thead><tr><th>rule</th><th>raised</th><th>cleared</th></tr></thead><tbody></tbody></table></div><ul id="rules-issues"></ul></section>
<section id="errors"><h2>Errors</h2><span class="value">-</span> <span class="unit">per minute</span><div class="scale">rejected <span class="rejected">-</span>, store errors <span class="store-errors">-</span></div></section>
<section id="event-types"><h2>Events by type</h2><div class="tbl"><table><thead><tr><th>type</th><th class="num">last minute</th><th class="num">since start</th></tr></thead><tbody></tbody></table></div></section>
<section id="latency" class="wide"><h2>Latency</h2><div class="tbl"><table><thead><tr><th></th><th class="num">p50</th><th class="num">p99</th><th class="num">n</th><th class="num">p50 since start</th><th class="num">p99 since start</th></tr></thead><tbody></tbody></table></div><span class="scale">the last minute, and since the start</span></section>
<section id="sensors" class="wide"><h2>Sensors (<span id="sensors-count">-</span>)</h2><div class="tbl"><table><thead><tr><th>device</th><th>sensor</th><th class="num">value</th><th>unit</th><th>time</th><th>recent</th><th class="num">readings</th></tr></thead><tbody></tbody></table></div></section>
<section id="devices"><h2>Serial devices</h2><div class="tbl"><table><thead><tr><th>id</th><th>state</th><th>last reading</th><th>readings</th></tr></thead><tbody></tbody></table></div></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
