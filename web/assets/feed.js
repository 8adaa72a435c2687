// The page's live feed, shared by every tab of the page: one EventSource
// on /_sesinbound/events, whatever the number of tabs. Over HTTP/1.1 a
// browser opens at most six connections to a host, so one stream per tab
// would leave a seventh tab unable to load at all. The worker keeps the
// last events it relayed, so a tab that attaches late gets those newer
// than the cursor of the list it loaded.
//
// Records can arrive thousands a second, and what a page costs the machine
// is per record: an event for each in the browser, relayed to every tab
// and parsed there, would make twenty open tabs a second load generator.
// So the worker asks the server for at most one write a second holding
// the newest fifty records (every=1s&newest=50; the older ones come as one
// "skipped" event), and does the batching for the tabs: a tab hears from
// it only when it is time to draw:
// 0.1 s after a record that follows a quiet second; during a stream, one
// second after it ends, or every ten seconds while it lasts. A batch holds
// the newest PAGE records only (a tab shows no more), says how many it
// left out and where the feed is (cursor, a skipped event's included),
// and names the records a tab has open that changed meanwhile.
"use strict";

const ports = new Set();
const recent = []; // {seq, id, data}, oldest first
const KEEP = 1000, PAGE = 50;
let es = null, cursor = "", open = false;
let batch = [], left = 0, timer = 0, lastArrival = -1e9, lastPost = -1e9, burst = false;

function seqOf(c) {
  const i = (c || "").lastIndexOf("-");
  return i < 0 ? 0 : parseInt(c.slice(i + 1), 36) || 0;
}
// idOf reads a record's messageId, its first field, without parsing it.
function idOf(data) {
  const m = /^\{"messageId":"([^"]*)"/.exec(data);
  return m ? m[1] : "";
}
function post(msg) { for (const p of ports) p.postMessage(msg); }
// changed notes that the message port p shows has changed.
function changed(p) { (p.changed || (p.changed = new Set())).add(p.viewing); }

// batchOf is the newest PAGE of events, and how many older ones it leaves
// out (those the server skipped included).
function batchOf(events) {
  const recs = events.filter(e => !e.skip);
  const keep = recs.slice(-PAGE);
  let left = recs.length - keep.length;
  for (const e of events) left += e.skip || 0;
  const cursor = events.length ? events[events.length - 1].id : "";
  return { events: keep.map(e => ({ id: e.id, data: e.data })), left, cursor };
}

function relay() {
  timer = 0;
  const now = Date.now();
  const wait = burst ? 0 : Math.min(lastArrival + 1000, lastPost + 10000) - now;
  if (wait > 0) { timer = setTimeout(relay, wait); return; }
  burst = false;
  lastPost = now;
  const b = { type: "batch", events: batch, left, cursor };
  batch = []; left = 0;
  for (const p of ports) {
    const touched = p.changed ? [...p.changed] : [];
    if (p.changed) p.changed.clear();
    p.postMessage(touched.length ? Object.assign({ touched }, b) : b);
  }
}

function arrived(id, data, skip) {
  const e = skip ? { seq: seqOf(id), id, skip } : { seq: seqOf(id), id, data };
  recent.push(e);
  if (recent.length > KEEP) recent.shift();
  if (skip) {
    // Whatever a tab has open may be among the records left out.
    left += skip + batch.length; batch = [];
    for (const p of ports) if (p.viewing) changed(p);
  } else {
    batch.push(e);
    if (batch.length > PAGE) { batch.shift(); left++; }
    for (const p of ports) if (p.viewing && idOf(data) === p.viewing) changed(p);
  }
  const now = Date.now();
  if (now - lastArrival > 1000 && !timer) { burst = true; timer = setTimeout(relay, 100); }
  lastArrival = now;
  if (!timer) timer = setTimeout(relay, Math.max(0, Math.min(lastArrival + 1000, lastPost + 10000) - now));
}

function connect() {
  es = new EventSource("/_sesinbound/events?every=1s&newest=" + PAGE + (cursor ? "&after=" + encodeURIComponent(cursor) : ""));
  es.onopen = () => { open = true; post({ type: "open" }); };
  es.onmessage = (ev) => {
    if (ev.lastEventId) cursor = ev.lastEventId;
    arrived(ev.lastEventId, ev.data);
  };
  es.addEventListener("reset", (ev) => {
    if (ev.lastEventId) cursor = ev.lastEventId;
    recent.length = 0; batch = []; left = 0;
    post({ type: "reset", id: ev.lastEventId });
  });
  es.addEventListener("skipped", (ev) => {
    if (ev.lastEventId) cursor = ev.lastEventId;
    let n = 0;
    try { n = JSON.parse(ev.data).skipped || 0; } catch (err) { n = 1; }
    arrived(ev.lastEventId, "", Math.max(1, n));
  });
  es.addEventListener("dropped", () => post({ type: "dropped" }));
  es.onerror = () => {
    open = false;
    post({ type: "error" });
    if (es.readyState === EventSource.CLOSED) { es = null; setTimeout(connect, 5000); }
  };
}

onconnect = (e) => {
  const port = e.ports[0];
  ports.add(port);
  port.onmessage = (m) => {
    const d = m.data || {};
    if (d.type === "start") {
      if (!es) { if (d.cursor) cursor = d.cursor; connect(); }
      else {
        if (open) port.postMessage({ type: "open" });
        const from = seqOf(d.cursor);
        const missed = recent.filter(r => r.seq > from);
        if (missed.length) port.postMessage(Object.assign({ type: "batch" }, batchOf(missed)));
      }
    } else if (d.type === "view") port.viewing = d.id || "";
    else if (d.type === "bye") ports.delete(port);
  };
  port.start();
};
