// The campaign dashboard (server/dashboard/plugin.js): reads
// GET /v1/admin/reports/journeys with the admin token every 5 seconds while
// the tab is visible and shows, per journey, the funnel, activity over time
// (uPlot), holdout vs treatment with the lift and its 95 % interval, the
// dead letters and the steps. All text goes in with textContent.
(function () {
  'use strict';

  var REFRESH_MS = 5000;
  var TOKEN_KEY = 'rekindle.adminToken';
  // Drawn in this order, widest first: lines that coincide show as nested stripes.
  var SERIES = [
    { key: 'entered', label: 'Entered', color: '#a8a29e', width: 7 },
    { key: 'displayed', label: 'Tile displayed', color: '#2563eb', width: 5 },
    { key: 'clicked', label: 'Clicked', color: '#7c3aed', width: 3.5 },
    { key: 'converted', label: 'Converted', color: '#16a34a', width: 2 },
    { key: 'emailSent', label: 'Email sent', color: '#ea580c', width: 2, dash: [6, 4] },
    { key: 'smsSent', label: 'SMS sent', color: '#0d9488', width: 2, dash: [2, 3] },
  ];
  // Chart buckets: the smallest that keeps the visible span within about 120 of them.
  var BUCKETS = [5e3, 10e3, 30e3, 60e3, 300e3, 900e3, 3600e3, 6 * 3600e3, 86400e3];
  var bucketMs = null;

  var params = new URLSearchParams(location.search);
  var site = params.get('site');
  var token = null;
  var timer = null;
  var charts = new Map(); // journey id -> { plot, holder }
  var cards = new Map();  // journey id -> card element
  var main = document.getElementById('db-main');
  var status = document.getElementById('db-status');
  var csvButton = document.getElementById('db-csv');

  // ---- helpers --------------------------------------------------------------

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, String(attrs[k]));
    });
    for (var i = 2; i < arguments.length; i += 1) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function pct(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return '—';
    return (x * 100).toFixed(digits === undefined ? 1 : digits) + ' %';
  }

  function signedPct(x) {
    if (x === null || x === undefined || !isFinite(x)) return '—';
    return (x >= 0 ? '+' : '−') + Math.abs(x * 100).toFixed(1) + ' %';
  }

  function signedPts(x) {
    if (x === null || x === undefined || !isFinite(x)) return '—';
    return (x >= 0 ? '+' : '−') + Math.abs(x * 100).toFixed(1) + ' pts';
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function reportUrl(format) {
    var q = new URLSearchParams();
    if (site) q.set('site', site);
    if (bucketMs && !format) q.set('bucketMs', String(bucketMs));
    if (format) q.set('format', format);
    var s = q.toString();
    return '/v1/admin/reports/journeys' + (s ? '?' + s : '');
  }

  // ---- the admin token --------------------------------------------------------

  function tokenFromHash() {
    var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!match) return null;
    history.replaceState(null, '', location.pathname + location.search);
    return decodeURIComponent(match[1]);
  }

  // `fresh`: skip the token kept in this tab (it was refused: the server may have restarted with a new one).
  function findToken(fresh) {
    var t = fresh ? null : tokenFromHash() || sessionStorage.getItem(TOKEN_KEY);
    if (t) return Promise.resolve(t);
    return fetch('/dashboard/api/token', { cache: 'no-store' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (body) { return body && body.token ? body.token : null; })
      .catch(function () { return null; });
  }

  function askForToken(message) {
    stop();
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    var form = document.getElementById('db-token');
    var error = document.getElementById('db-token-error');
    form.hidden = false;
    error.hidden = !message;
    error.textContent = message || '';
    status.textContent = 'waiting for the admin token';
    csvButton.disabled = true;
  }

  document.getElementById('db-token').addEventListener('submit', function (event) {
    event.preventDefault();
    token = document.getElementById('db-token-input').value.trim();
    document.getElementById('db-token').hidden = true;
    sessionStorage.setItem(TOKEN_KEY, token);
    refresh();
  });

  // ---- loading ----------------------------------------------------------------

  // A server that hangs must not leave old figures looking fresh: past this
  // long the request is given up and the status says so.
  var ANSWER_MS = 10000;
  var lastUpdate = null;

  function get(format) {
    var controller = new AbortController();
    var timeout = setTimeout(function () { controller.abort(); }, ANSWER_MS);
    var request = fetch(reportUrl(format), { headers: { authorization: 'Bearer ' + token }, cache: 'no-store', signal: controller.signal });
    return request.then(function (res) {
      if (res.status === 401) throw Object.assign(new Error('the admin token was refused'), { auth: true });
      if (!res.ok) {
        return res.json().catch(function () { return {}; }).then(function (b) {
          throw new Error('the server answered HTTP ' + res.status + (b.error ? ': ' + b.error : ''));
        });
      }
      return res;
    }, function (err) {
      if (controller.signal.aborted) throw new Error('the server did not answer within ' + ANSWER_MS / 1000 + ' s');
      throw new Error('the server cannot be reached (' + err.message + ')');
    }).finally(function () { clearTimeout(timeout); });
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
  }

  function schedule() {
    stop();
    if (document.visibilityState === 'visible') timer = setTimeout(refresh, REFRESH_MS);
  }

  // `retried`: this is the second request of a refresh, made with a better chart bucket.
  function refresh(retried) {
    if (!token) return;
    get().then(function (res) { return res.json(); }).then(function (report) {
      sessionStorage.setItem(TOKEN_KEY, token);
      var wanted = bucketFor(report);
      if (wanted !== report.bucketMs && !retried) {
        bucketMs = wanted;
        return refresh(true);
      }
      render(report);
      csvButton.disabled = false;
      lastUpdate = report.generatedAt;
      status.textContent = 'updated ' + clock(report.generatedAt) + ' · refreshes every 5 s';
      status.className = 'db-status';
      document.body.setAttribute('data-loaded', String(Number(document.body.getAttribute('data-loaded') || 0) + 1));
      schedule();
    }).catch(function (err) {
      if (err.auth) {
        var refused = token;
        sessionStorage.removeItem(TOKEN_KEY);
        return findToken(true).then(function (t) {
          if (t && t !== refused) {
            token = t;
            refresh();
          } else {
            askForToken('The server refused that token.');
          }
        });
      }
      status.textContent = 'not updated: ' + err.message + ' · '
        + (lastUpdate ? 'the figures shown are from ' + clock(lastUpdate) : 'no figures yet') + ' · retrying every 5 s';
      status.className = 'db-status db-status--error';
      schedule();
    });
  }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && token) refresh();
    else stop();
  });

  csvButton.addEventListener('click', function () {
    get('csv').then(function (res) { return res.blob(); }).then(function (blob) {
      var a = el('a', { href: URL.createObjectURL(blob), download: 'rekindle-journeys-' + new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-') + '.csv' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
    }).catch(function (err) {
      status.textContent = 'CSV export failed: ' + err.message;
      status.className = 'db-status db-status--error';
    });
  });

  // ---- rendering ------------------------------------------------------------------

  function render(report) {
    if (report.journeys.length === 0) {
      main.replaceChildren(el('p', { class: 'db-empty' }, 'No journey in this site\'s artifact yet.'));
      cards.clear();
      charts.clear();
      return;
    }
    report.journeys.forEach(function (j) {
      var card = cards.get(j.id);
      if (!card) {
        card = el('section', { class: 'db-journey', 'data-journey': j.id },
          el('header', { class: 'db-journey__head' }),
          el('div', { class: 'db-kpis' }),
          el('div', { class: 'db-row' },
            el('div', { class: 'db-panel db-funnel' }),
            el('div', { class: 'db-panel db-compare' })),
          el('div', { class: 'db-panel db-chart' },
            el('h3', null, 'Activity over time ', el('small', null, 'cumulative, since the first record')),
            el('p', { class: 'db-chart__empty', hidden: '' }, 'No activity yet: the chart starts with the first visitor who enters the journey.'),
            el('div', { class: 'db-chart__plot' })),
          el('div', { class: 'db-panel db-steps' }));
        cards.set(j.id, card);
        main.appendChild(card);
      }
      var head = [el('h2', null, j.name), el('code', null, j.id)];
      if (j.deadLetters > 0) head.push(el('span', { class: 'db-alert' }, j.deadLetters + ' dead letter' + (j.deadLetters === 1 ? '' : 's')));
      card.querySelector('.db-journey__head').replaceChildren.apply(card.querySelector('.db-journey__head'), head);
      card.querySelector('.db-kpis').replaceChildren.apply(card.querySelector('.db-kpis'), kpis(j));
      card.querySelector('.db-funnel').replaceChildren.apply(card.querySelector('.db-funnel'), funnel(j));
      card.querySelector('.db-compare').replaceChildren.apply(card.querySelector('.db-compare'), comparison(j.comparison));
      card.querySelector('.db-steps').replaceChildren.apply(card.querySelector('.db-steps'), steps(j));
      card.querySelector('.db-chart__empty').hidden = j.series.length > 0;
      card.querySelector('.db-chart__plot').hidden = j.series.length === 0;
      // Drawn once it is shown, at the width it then has.
      if (j.series.length > 0) chart(j, report, card.querySelector('.db-chart__plot'));
    });
  }

  function kpi(label, value, metric, note) {
    return el('div', { class: 'db-kpi' },
      el('span', { class: 'db-kpi__label' }, label),
      el('strong', { class: 'db-kpi__value', 'data-metric': metric }, value),
      note ? el('span', { class: 'db-kpi__note' }, note) : null);
  }

  function kpis(j) {
    var c = j.comparison;
    var liftValue = c && c.lift ? signedPct(c.lift.value) : '—';
    var liftNote = c && c.lift ? '95 % CI ' + signedPct(c.lift.low) + ' to ' + signedPct(c.lift.high) : c ? 'needs conversions in both groups' : 'no holdout';
    return [
      kpi('Entered', j.entered, 'entered-total', 'instances started'),
      kpi('Converted', j.converted, 'converted-total', 'purchases that ended an instance'),
      kpi('Conversion rate', pct(j.conversionRate), 'conversion-rate', 'of instances'),
      kpi('Lift vs holdout', liftValue, 'lift', liftNote),
      kpi('Dead letters', j.deadLetters, 'dead-letters', j.deadLetters ? 'messages that failed every retry' : 'no failed deliveries'),
    ];
  }

  function funnel(j) {
    var f = j.funnel;
    var stages = [
      ['Entered the journey', f.entered, 'entered'],
      ['Tile displayed', f.displayed, 'displayed'],
      ['Tile clicked', f.clicked, 'clicked'],
      ['Converted', f.converted, 'converted'],
    ];
    var top = Math.max(1, f.entered, f.displayed, f.clicked, f.converted);
    var out = [el('h3', null, 'Funnel')];
    var list = el('ol', { class: 'db-bars' });
    stages.forEach(function (s) {
      var share = f.entered > 0 ? ' · ' + pct(s[1] / f.entered, 0) : '';
      list.appendChild(el('li', null,
        el('span', { class: 'db-bars__label' }, s[0]),
        el('span', { class: 'db-bars__track' }, el('span', { class: 'db-bars__fill db-bars__fill--' + s[2], style: 'width:' + (100 * s[1] / top).toFixed(1) + '%' })),
        el('span', { class: 'db-bars__value' }, el('strong', { 'data-metric': s[2] }, s[1]), share)));
    });
    out.push(list);
    out.push(el('dl', { class: 'db-messages' },
      el('dt', null, 'Emails'), el('dd', null, el('strong', { 'data-metric': 'email-sent' }, f.emailSent), ' sent · ', el('span', { 'data-metric': 'email-suppressed' }, f.emailSuppressed), ' suppressed'),
      el('dt', null, 'SMS'), el('dd', null, el('strong', { 'data-metric': 'sms-sent' }, f.smsSent), ' sent · ', el('span', { 'data-metric': 'sms-suppressed' }, f.smsSuppressed), ' suppressed'),
      el('dt', null, 'Tiles dismissed'), el('dd', null, el('span', { 'data-metric': 'dismissed' }, f.dismissed))));
    return out;
  }

  function verdict(c) {
    if (!c) return ['none', 'This journey has no holdout arm, so its effect cannot be measured against doing nothing.'];
    if (!c.difference) {
      var missing = c.holdout.n === 0 ? 'the holdout' : 'the treatment';
      return ['wait', 'Not enough data yet: no instance in ' + missing + ' so far. The comparison appears once both groups have visitors.'];
    }
    if (c.difference.low > 0) return ['good', 'The journey brings customers back: the treatment converts better than the holdout, and the 95 % interval of the difference is above zero.'];
    if (c.difference.high < 0) return ['bad', 'The treatment converts worse than the holdout: the 95 % interval of the difference is below zero.'];
    return ['wait', 'Inconclusive so far: the 95 % interval of the difference still includes zero. More visitors will narrow it.'];
  }

  function comparison(c) {
    var v = verdict(c);
    var out = [el('h3', null, 'Holdout vs treatment'), el('p', { class: 'db-verdict db-verdict--' + v[0], 'data-verdict': v[0] }, v[1])];
    if (!c) return out;
    var rows = el('div', { class: 'db-groups' });
    [['Treatment', c.treatment, 'treatment'], ['Holdout', c.holdout, 'holdout']].forEach(function (g) {
      var rate = g[1].rate;
      rows.appendChild(el('div', { class: 'db-group', 'data-group': g[2] },
        el('span', { class: 'db-group__name' }, g[0]),
        el('span', { class: 'db-bars__track' }, el('span', { class: 'db-bars__fill db-bars__fill--' + g[2], style: 'width:' + ((rate || 0) * 100).toFixed(1) + '%' })),
        el('span', { class: 'db-group__value' }, el('strong', null, pct(rate)), ' · ' + g[1].conversions + ' of ' + g[1].n)));
    });
    out.push(rows);
    if (c.difference) {
      out.push(el('dl', { class: 'db-stats' },
        el('dt', null, 'Difference'), el('dd', null, el('strong', null, signedPts(c.difference.value)), ' (95 % CI ' + signedPts(c.difference.low) + ' to ' + signedPts(c.difference.high) + ')'),
        el('dt', null, 'Relative lift'), el('dd', null, c.lift ? el('strong', null, signedPct(c.lift.value)) : '—',
          c.lift ? ' (95 % CI ' + signedPct(c.lift.low) + ' to ' + signedPct(c.lift.high) + ')' : ' (needs conversions in both groups)')));
      out.push(interval(c.difference));
    }
    return out;
  }

  // The difference and its interval on an axis centred on zero.
  function interval(d) {
    var span = Math.max(0.05, Math.abs(d.low), Math.abs(d.high), Math.abs(d.value)) * 1.1;
    var at = function (x) { return (50 + 50 * Math.max(-1, Math.min(1, x / span))).toFixed(2) + '%'; };
    var low = parseFloat(at(d.low));
    var high = parseFloat(at(d.high));
    return el('div', { class: 'db-interval', 'aria-label': 'difference ' + signedPts(d.value) + ' with its 95 % interval' },
      el('span', { class: 'db-interval__zero' }),
      el('span', { class: 'db-interval__range', style: 'left:' + low + '%;width:' + Math.max(0.5, high - low) + '%' }),
      el('span', { class: 'db-interval__point', style: 'left:' + at(d.value) }),
      el('span', { class: 'db-interval__tick db-interval__tick--left' }, signedPts(-span)),
      el('span', { class: 'db-interval__tick db-interval__tick--mid' }, '0'),
      el('span', { class: 'db-interval__tick db-interval__tick--right' }, signedPts(span)));
  }

  function steps(j) {
    var head = el('tr', null, el('th', null, 'Step'), el('th', null, 'Channel'), el('th', null, 'Sent'), el('th', null, 'Suppressed'),
      el('th', null, 'Cancelled'), el('th', null, 'Dead'), el('th', null, 'Pending'), el('th', null, 'Displays'), el('th', null, 'Clicks'),
      el('th', null, 'Dismissed'), el('th', null, 'Conversions'));
    var body = el('tbody');
    j.steps.forEach(function (s) {
      var reasons = Object.keys(s.suppressed).map(function (k) { return k + ' × ' + s.suppressed[k]; }).join(', ');
      var suppressed = Object.keys(s.suppressed).reduce(function (a, k) { return a + s.suppressed[k]; }, 0);
      var actionable = s.channel !== null;
      var cell = function (v, show) { return el('td', null, show ? v : '·'); };
      var message = s.channel === 'email' || s.channel === 'sms' || s.channel === 'push';
      body.appendChild(el('tr', { 'data-step': s.step },
        el('td', null, el('code', null, s.step)),
        el('td', null, s.channel || '—'),
        cell(s.sent, message),
        el('td', { title: reasons }, actionable ? suppressed : '·', reasons ? el('small', null, ' ' + reasons) : null),
        cell(s.cancelled, message), cell(s.dead, message), cell(s.pending, message),
        cell(s.displays, s.channel === 'web'), cell(s.clicks, s.channel === 'web'), cell(s.dismissals, s.channel === 'web'),
        cell(s.conversions, actionable)));
    });
    return [el('h3', null, 'Steps'), el('table', { class: 'db-table' }, el('thead', null, head), body)];
  }

  function bucketFor(report) {
    var first = Infinity;
    report.journeys.forEach(function (j) { if (j.series.length) first = Math.min(first, Date.parse(j.series[0].t)); });
    var span = isFinite(first) ? Date.parse(report.to) - first : 0;
    for (var i = 0; i < BUCKETS.length; i += 1) if (span / BUCKETS[i] <= 120) return BUCKETS[i];
    return BUCKETS[BUCKETS.length - 1];
  }

  function two(n) { return String(n).padStart(2, '0'); }

  var TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 182 * 86400, 365 * 86400];

  // Tick labels: times of day, with seconds when the chart spans minutes, with the date when it spans days.
  function timeLabels(u, splits) {
    var range = u.scales.x.max - u.scales.x.min;
    return splits.map(function (t) {
      var d = new Date(t * 1000);
      var hm = two(d.getHours()) + ':' + two(d.getMinutes());
      if (range <= 1800) return hm + ':' + two(d.getSeconds());
      if (range <= 2 * 86400) return hm;
      return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + hm;
    });
  }

  // Cumulative counts per bucket, from one bucket before the first event to now.
  function chartData(j, report) {
    var bucket = report.bucketMs;
    var rows = j.series;
    var end = Math.floor(Date.parse(report.to) / bucket) * bucket;
    var first = rows.length ? Date.parse(rows[0].t) : end;
    var start = Math.min(first, end) - bucket;
    if ((end - start) / bucket > 1000) start = end - 1000 * bucket;
    var byTime = new Map(rows.map(function (r) { return [Date.parse(r.t), r]; }));
    var xs = [];
    var ys = SERIES.map(function () { return []; });
    var totals = SERIES.map(function () { return 0; });
    rows.forEach(function (r) {
      if (Date.parse(r.t) < start) SERIES.forEach(function (s, i) { totals[i] += r[s.key] || 0; });
    });
    for (var t = start; t <= end; t += bucket) {
      var r = byTime.get(t);
      xs.push(t / 1000);
      SERIES.forEach(function (s, i) {
        if (r) totals[i] += r[s.key] || 0;
        ys[i].push(totals[i]);
      });
    }
    // The totals hold until now, so the last bucket's step is not at the very edge.
    var now = Date.parse(report.to) / 1000;
    if (now > xs[xs.length - 1]) {
      xs.push(now);
      SERIES.forEach(function (s, i) { ys[i].push(totals[i]); });
    }
    return [xs].concat(ys);
  }

  function chart(j, report, holder) {
    var data = chartData(j, report);
    var existing = charts.get(j.id);
    if (existing && existing.holder === holder) {
      existing.plot.setData(data);
      return;
    }
    var width = Math.max(320, holder.clientWidth || 800);
    var plot = new uPlot({
      width: width,
      height: 230,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(2, Math.ceil(max * 1.15))]; } } },
      axes: [
        // Whole seconds at least: finer ticks printed the same second twice.
        { stroke: '#57534e', grid: { stroke: '#f0ebe4' }, values: timeLabels, incrs: TIME_INCRS },
        { stroke: '#57534e', grid: { stroke: '#f0ebe4' }, size: 44, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
          values: function (u, vals) { return vals.map(function (v) { return String(Math.round(v)); }); } },
      ],
      series: [{}].concat(SERIES.map(function (s) {
        return { label: s.label, stroke: s.color, width: s.width, dash: s.dash, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }),
          value: function (u, v) { return v === null || v === undefined ? '—' : String(v); } };
      })),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    }, data, holder);
    charts.set(j.id, { plot: plot, holder: holder });
  }

  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.plot.setSize({ width: Math.max(320, c.holder.clientWidth), height: 230 }); });
  });

  // ---- start ------------------------------------------------------------------

  findToken().then(function (t) {
    if (!t) return askForToken(null);
    token = t;
    refresh();
  });
}());
