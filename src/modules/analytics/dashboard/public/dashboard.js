// The analytics dashboard: loads a snapshot from the REST API, then applies the /live stream on top.
// The snapshot carries the projection version it reflects; the server sends every change above it,
// so nothing is counted twice or missed. On a drop it reconnects and loads a fresh snapshot.
(() => {
  'use strict';
  const STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED'];
  const WINDOW_MINUTES = 30;
  const FEED_ROWS = 30;
  const SLOW_REFRESH_MS = 10_000; // top products and latency percentiles are not additive: re-read them

  const $ = (selector) => document.querySelector(selector);
  const connection = $('#connection');
  const amount = (cents) => (cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  const state = { totals: {}, minutes: new Map(), feed: [], synced: false, clockOffsetMs: 0 };
  const stats = { drops: 0, resyncs: 0, deltas: 0, history: [] };
  let generation = 0;
  let renderQueued = false;

  function setConnection(name, text) {
    connection.dataset.state = name;
    connection.textContent = text;
    stats.history.push(name);
    connection.dataset.history = stats.history.slice(-30).join(' ');
    connection.dataset.drops = String(stats.drops);
    connection.dataset.resyncs = String(stats.resyncs);
  }

  // --- charts ---------------------------------------------------------------------------------
  const colors = { placed: '#3b6fd8', confirmed: '#2f9e57', rejected: '#d64545', cancelled: '#9aa3b2', revenue: '#7c4dcc' };
  const ordersChart = new Chart($('#orders-chart'), {
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { type: 'line', label: 'placed', data: [], borderColor: colors.placed, backgroundColor: colors.placed, tension: 0.2, pointRadius: 0 },
        { label: 'confirmed', data: [], backgroundColor: colors.confirmed, stack: 'decided' },
        { label: 'rejected', data: [], backgroundColor: colors.rejected, stack: 'decided' },
        { label: 'cancelled', data: [], backgroundColor: colors.cancelled, stack: 'decided' },
      ],
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true, stacked: true } } },
  });
  const revenueChart = new Chart($('#revenue-chart'), {
    type: 'line',
    data: { labels: [], datasets: [{ label: 'net revenue', data: [], borderColor: colors.revenue, backgroundColor: colors.revenue, tension: 0.2, pointRadius: 0 }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
  });

  // --- state from the snapshot and the stream ---------------------------------------------------
  function totalsOf(summary) {
    const t = { 'orders.placed': summary.orders.placed };
    for (const s of STATUSES) t[`orders.${s}`] = summary.orders.byStatus[s];
    t['revenue.confirmed_cents'] = summary.revenue.confirmedCents;
    t['revenue.cancelled_cents'] = summary.revenue.cancelledCents;
    for (const [reason, n] of Object.entries(summary.rejectionReasons)) t[`rejections.${reason}`] = n;
    return t;
  }

  function load(snapshot) {
    state.totals = totalsOf(snapshot.summary);
    state.clockOffsetMs = Date.parse(snapshot.summary.asOf) - Date.now();
    state.minutes = new Map();
    for (const p of snapshot.timeseries.points) {
      state.minutes.set(p.at, { placed: p.placed, confirmed: p.confirmed, rejected: p.rejected, cancelled: p.cancelled, revenue_cents: p.revenueCents });
    }
    state.feed = snapshot.summary.recentOrders.map((o) => ({ type: 'order', key: o.orderRef, status: o.status, totalCents: o.totalCents, at: o.placedAt }));
    renderSlow(snapshot.summary);
    queueRender();
  }

  function apply(batch) {
    if (!state.synced) return;
    resyncsInARow = 0;
    stats.deltas++;
    for (const [metric, n] of Object.entries(batch.totals)) state.totals[metric] = (state.totals[metric] || 0) + n;
    for (const [minute, fields] of Object.entries(batch.minutes)) {
      const row = state.minutes.get(minute) || { placed: 0, confirmed: 0, rejected: 0, cancelled: 0, revenue_cents: 0 };
      for (const [field, n] of Object.entries(fields)) row[field] = (row[field] || 0) + n;
      state.minutes.set(minute, row);
    }
    state.feed = batch.feed.slice().reverse().concat(state.feed).slice(0, FEED_ROWS);
    connection.dataset.version = String(batch.toVersion);
    queueRender();
  }

  // --- rendering ------------------------------------------------------------------------------
  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function setCounter(testId, value, text) {
    const el = document.querySelector(`[data-testid="${testId}"]`);
    el.dataset.value = String(value);
    el.textContent = text === undefined ? value.toLocaleString('en-US') : text;
  }

  function render() {
    const t = (m) => state.totals[m] || 0;
    setCounter('orders-placed', t('orders.placed'));
    for (const s of STATUSES) setCounter(`orders-${s}`, t(`orders.${s}`));
    const net = t('revenue.confirmed_cents') - t('revenue.cancelled_cents');
    setCounter('revenue', net, amount(net));
    const confirmed = t('orders.CONFIRMED');
    const aov = confirmed > 0 ? Math.round(net / confirmed) : 0;
    setCounter('aov', aov, confirmed > 0 ? amount(aov) : '–');

    const rejections = $('#rejections');
    rejections.replaceChildren(
      ...Object.keys(state.totals)
        .filter((m) => m.startsWith('rejections.'))
        .map((m) => li(`${m.slice('rejections.'.length)}: ${t(m)}`)),
    );

    const end = Math.floor((Date.now() + state.clockOffsetMs) / 60_000) * 60_000;
    const labels = [];
    const rows = [];
    for (let at = end - (WINDOW_MINUTES - 1) * 60_000; at <= end; at += 60_000) {
      const key = new Date(at).toISOString();
      labels.push(key.slice(11, 16));
      rows.push(state.minutes.get(key) || { placed: 0, confirmed: 0, rejected: 0, cancelled: 0, revenue_cents: 0 });
    }
    ordersChart.data.labels = labels;
    ['placed', 'confirmed', 'rejected', 'cancelled'].forEach((f, i) => (ordersChart.data.datasets[i].data = rows.map((r) => r[f])));
    ordersChart.update('none');
    revenueChart.data.labels = labels;
    revenueChart.data.datasets[0].data = rows.map((r) => r.revenue_cents / 100);
    revenueChart.update('none');

    $('#feed').replaceChildren(
      ...state.feed.map((f) => {
        const row = document.createElement('li');
        row.dataset.key = f.key;
        row.dataset.status = f.status || '';
        for (const text of [
          new Date(f.at).toISOString().slice(11, 19),
          f.type,
          f.key.slice(0, 8),
          f.status || f.reason || '',
          f.totalCents === undefined || f.totalCents === null ? '' : amount(f.totalCents),
        ]) {
          const cell = document.createElement('span');
          cell.textContent = text;
          row.append(cell);
        }
        return row;
      }),
    );
  }

  function li(text) {
    const el = document.createElement('li');
    el.textContent = text;
    return el;
  }

  function renderSlow(summary) {
    $('#top-products').replaceChildren(
      ...summary.topProducts.byUnits.map((p) => {
        const tr = document.createElement('tr');
        for (const text of [p.name ? `${p.sku} · ${p.name}` : p.sku, p.units.toLocaleString('en-US'), amount(p.revenueCents)]) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    const l = summary.latency;
    $('#latency').textContent =
      l.decided === 0 ? 'no decisions yet' : `p50 ${l.p50Ms} ms · p95 ${l.p95Ms} ms · p99 ${l.p99Ms} ms (${l.decided} orders)`;
  }

  // --- the stream -----------------------------------------------------------------------------
  const socket = io('/live', { transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 5000 });

  async function resync() {
    const mine = ++generation;
    state.synced = false;
    setConnection('syncing', 'syncing…');
    try {
      const res = await fetch('/analytics/snapshot', { cache: 'no-store' });
      if (!res.ok) throw new Error(`GET /analytics/snapshot answered ${res.status}`);
      const snapshot = await res.json();
      if (mine !== generation) return;
      load(snapshot);
      state.synced = true;
      connection.dataset.version = String(snapshot.version);
      socket.emit('sync', { version: snapshot.version }, (ack) => {
        if (mine !== generation) return;
        if (ack && ack.ok) {
          stats.resyncs++;
          setConnection('live', 'live');
        }
      });
    } catch (error) {
      if (mine !== generation) return;
      setConnection('reconnecting', 'snapshot failed, retrying…');
      console.warn(error);
      setTimeout(() => socket.connected && mine === generation && void resync(), 2000);
    }
  }

  socket.on('connect', () => void resync());
  // Asked again and again with no delta between (a lost change whose snapshot has not caught up yet):
  // the first at once, then 250 ms doubling to 5 s, not a snapshot request per answer.
  let resyncsInARow = 0;
  socket.on('resync', () => {
    const delay = resyncsInARow === 0 ? 0 : Math.min(250 * 2 ** (resyncsInARow - 1), 5000);
    resyncsInARow++;
    setTimeout(() => socket.connected && void resync(), delay);
  });
  socket.on('delta', apply);
  socket.on('disconnect', (reason) => {
    generation++;
    state.synced = false;
    stats.drops++;
    setConnection('reconnecting', 'disconnected, reconnecting…');
    // A server-side disconnect is not retried by socket.io on its own.
    if (reason === 'io server disconnect') socket.connect();
  });

  setInterval(async () => {
    if (!state.synced) return;
    try {
      const res = await fetch('/analytics/summary', { cache: 'no-store' });
      if (res.ok) renderSlow(await res.json());
    } catch {
      // the stream's own indicator shows the outage
    }
  }, SLOW_REFRESH_MS);
  setInterval(queueRender, 15_000); // the chart window moves on even when nothing happens

  setConnection('connecting', 'connecting…');
  window.dashboard = { state, stats, socket };
})();
