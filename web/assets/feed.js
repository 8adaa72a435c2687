// The page's live feed, shared by every tab of the page: one EventSource
// on /_sesinbound/events, whatever the number of tabs. Over HTTP/1.1 a
// browser opens at most six connections to a host, so one stream per tab
// would leave a seventh tab unable to load at all. The worker keeps the
// last events it relayed, so a tab that attaches late gets those newer
// than the cursor of the list it loaded.
"use strict";

const ports = new Set();
const recent = []; // {seq, msg}, oldest first
const KEEP = 1000;
let es = null, cursor = "", open = false;

function seqOf(c) {
  const i = (c || "").lastIndexOf("-");
  return i < 0 ? 0 : parseInt(c.slice(i + 1), 36) || 0;
}
function post(msg) { for (const p of ports) p.postMessage(msg); }

function connect() {
  es = new EventSource("/_sesinbound/events" + (cursor ? "?after=" + encodeURIComponent(cursor) : ""));
  es.onopen = () => { open = true; post({ type: "open" }); };
  es.onmessage = (ev) => {
    if (ev.lastEventId) cursor = ev.lastEventId;
    const msg = { type: "message", id: ev.lastEventId, data: ev.data };
    recent.push({ seq: seqOf(ev.lastEventId), msg });
    if (recent.length > KEEP) recent.shift();
    post(msg);
  };
  es.addEventListener("reset", (ev) => { if (ev.lastEventId) cursor = ev.lastEventId; recent.length = 0; post({ type: "reset", id: ev.lastEventId }); });
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
        for (const r of recent) if (r.seq > from) port.postMessage(r.msg);
      }
    } else if (d.type === "bye") ports.delete(port);
  };
  port.start();
};
