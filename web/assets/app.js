// sesinbound's page. Plain JavaScript, no build step: it reads the same
// /_sesinbound/ APIs a test does and builds the DOM with textContent only,
// so nothing from a mail is ever parsed as HTML outside the sandboxed
// srcdoc iframe of the Rendered tab.
"use strict";

(function () {
  // The theme applies before the body is drawn: the system's, unless the
  // viewer picked one.
  const saved = localStorage.getItem("sesinbound-theme");
  if (saved === "dark" || saved === "light") document.documentElement.dataset.theme = saved;
})();

const API = "/_sesinbound";
const PAGE = 50;
const state = {
  offset: 0, q: "", total: 0, rows: [], sel: -1, cursor: "", source: null, pollTimer: 0,
  config: null, view: "list", msgId: "", refetchTimer: 0,
};

function $(id) { return document.getElementById(id); }

// el builds an element; strings become text nodes, never HTML.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(path, opts) {
  const r = await fetch(API + path, Object.assign({ credentials: "same-origin" }, opts || {}));
  if (r.status === 401) { askToken(); throw new Error("the admin token is needed"); }
  return r;
}
async function json(path) {
  const r = await api(path);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// ---- token -------------------------------------------------------------
let asking = false;
function askToken() {
  if (asking || !$("token")) return; // before the body exists, the next call asks
  asking = true;
  const d = $("token");
  d.showModal();
  $("token-input").focus();
}
function setupToken() {
  $("token-form").addEventListener("submit", () => {
    const t = $("token-input").value.trim();
    // SameSite=Strict: other sites' pages never send it.
    document.cookie = "sesinbound_token=" + encodeURIComponent(t) + "; path=/_sesinbound; SameSite=Strict; max-age=31536000";
    asking = false;
    location.reload();
  });
}

// ---- formatting --------------------------------------------------------
function fmtTime(s) {
  const d = new Date(s);
  if (isNaN(d)) return "";
  const now = new Date();
  const t = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return d.toDateString() === now.toDateString() ? t : d.toLocaleDateString() + " " + t;
}
function fmtSize(n) {
  if (n < 1024) return n + " B";
  if (n < 1 << 20) return (n / 1024).toFixed(1) + " KB";
  return (n / (1 << 20)).toFixed(1) + " MB";
}
function badge(label, value) {
  const v = (value || "").toLowerCase();
  return el("span", { class: "badge " + v, title: label + ": " + (value || "unknown") }, label + (v && v !== "pass" ? " " + v.replace("_", " ") : ""));
}
// tag is a badge with a fixed label.
function tag(label, cls) { return el("span", { class: "badge " + cls }, label); }
function verdicts(v) {
  v = v || {};
  return [badge("spam", v.spam), badge("virus", v.virus), badge("SPF", v.spf), badge("DKIM", v.dkim), badge("DMARC", v.dmarc)];
}
function replyCell(r) {
  if (!r.reply) return el("span", { class: "muted" }, "…");
  return el("span", { class: r.reply.code === 250 ? "reply-ok" : "reply-bad", title: r.reply.code + " " + r.reply.text }, String(r.reply.code));
}

// ---- the list ----------------------------------------------------------
function row(r, i) {
  const tr = el("tr", { "data-msg-id": r.messageId },
    el("td", { class: "c-time", title: r.time }, fmtTime(r.time)),
    el("td", { class: "c-from", title: r.from }, r.from || "<>"),
    el("td", { class: "c-to", title: (r.recipients || []).join(", ") }, (r.recipients || []).join(", ")),
    el("td", { class: "c-subject", title: r.subject || "" }, r.subject || el("span", { class: "muted" }, "(no subject)")),
    el("td", { class: "c-size num" }, fmtSize(r.size || 0)),
    el("td", { class: "c-reply" }, replyCell(r)),
    el("td", { class: "c-rules", title: (r.rules || []).map(x => x.name).join(", ") }, (r.rules || []).map(x => x.name).join(", ") || el("span", { class: "muted" }, "none")),
    el("td", { class: "c-verdicts" }, verdicts(r.verdicts)));
  if (i === state.sel) tr.classList.add("sel");
  return tr;
}

function drawList(flashId) {
  const tb = $("rows");
  if (!performance.getEntriesByName("sesinbound:list").length) performance.mark("sesinbound:list");
  tb.replaceChildren(...state.rows.map((r, i) => row(r, i)));
  if (flashId) {
    const tr = tb.querySelector('tr[data-msg-id="' + CSS.escape(flashId) + '"]');
    if (tr) tr.classList.add("new");
  }
  drawRange();
}

function drawRange() {
  const empty = state.total === 0 && state.q === "";
  if (empty && !state.config) emptyState();
  $("empty").hidden = !empty;
  $("list-wrap").hidden = empty;
  const from = state.total ? state.offset + 1 : 0;
  const to = state.offset + state.rows.length;
  $("range").textContent = state.total ? from + "–" + to + " of " + state.total : (state.q ? "no match" : "");
  $("prev").disabled = state.offset === 0;
  $("next").disabled = to >= state.total;
}

function listPath() {
  return "/messages?order=newest&limit=" + PAGE + "&offset=" + state.offset + (state.q ? "&q=" + encodeURIComponent(state.q) : "");
}

// The first page of the list is asked for as soon as the script runs, in
// parallel with the rest of the page loading.
let firstList = (location.hash === "" || location.hash === "#/") ? json(listPath()).catch(() => null) : null;

async function loadList() {
  let body = null;
  if (firstList) { body = await firstList; firstList = null; }
  if (!body) body = await json(listPath());
  state.total = body.total;
  state.rows = body.messages;
  // The feed starts where this list ends, so nothing recorded in between
  // is missed.
  if (!state.worker && !state.source && !state.cursor && body.cursor) state.cursor = body.cursor;
  if (state.sel >= state.rows.length) state.sel = state.rows.length - 1;
  drawList();
}

function scheduleRefetch() {
  clearTimeout(state.refetchTimer);
  state.refetchTimer = setTimeout(() => { if (state.view === "list") loadList().catch(showError); }, 300);
}

// Records arrive from the feed one by one, possibly thousands a second,
// and drawing is what a page costs the machine: twenty pages open on a
// busy server must not slow it down. So a mail that follows a quiet second
// shows at once (0.1 s); during a stream the list is drawn one second after
// it ends, or every ten seconds while it lasts. New rows go on top and old
// ones come off the bottom.
const pending = [];
let pendingPage = null, flushTimer = 0, lastArrival = -1e9, lastDraw = -1e9;
function arrived(rec) {
  pending.push(rec);
  schedule();
}
function schedule() {
  const now = performance.now();
  const quiet = now - lastArrival > 1000;
  lastArrival = now;
  clearTimeout(flushTimer);
  flushTimer = setTimeout(flush, quiet ? 100 : Math.max(0, Math.min(1000, lastDraw + 10000 - now)));
}
function flush() {
  flushTimer = 0;
  if (document.hidden) { state.stale = true; pending.length = 0; pendingPage = null; return; }
  lastDraw = performance.now();
  if (pendingPage) {
    const body = pendingPage;
    pendingPage = null;
    pending.length = 0;
    if (state.view === "list" && state.offset === 0) { state.total = body.total; state.rows = body.messages; drawList(); }
    return;
  }
  const recs = pending.splice(0);
  if (state.view === "message" && recs.some(r => r.messageId === state.msgId)) showMessage(state.msgId, true);
  if (state.view !== "list") { state.stale = true; return; }
  if (state.offset !== 0 || state.q !== "") { scheduleRefetch(); return; }
  const fresh = [];
  let replaced = false;
  for (const rec of recs) {
    const at = state.rows.findIndex(r => r.messageId === rec.messageId);
    if (at >= 0) { state.rows[at] = rec; replaced = true; continue; }
    const f = fresh.findIndex(r => r.messageId === rec.messageId);
    if (f >= 0) { fresh[f] = rec; continue; }
    fresh.push(rec);
  }
  fresh.reverse(); // newest first
  state.total += fresh.length;
  if (state.sel >= 0) state.sel += fresh.length;
  if (state.sel >= PAGE) state.sel = -1;
  const wasEmpty = state.rows.length === 0;
  state.rows = fresh.concat(state.rows).slice(0, PAGE);
  if (replaced || wasEmpty || fresh.length >= PAGE) { drawList(fresh.length === 1 ? fresh[0].messageId : ""); return; }
  // Only the new rows are built; the rest stay.
  const tb = $("rows");
  const rows = fresh.map((r, i) => row(r, i));
  if (fresh.length === 1) rows[0].classList.add("new");
  tb.prepend(...rows);
  while (tb.children.length > PAGE) tb.lastElementChild.remove();
  for (const [i, tr] of [...tb.children].entries()) tr.classList.toggle("sel", i === state.sel);
  drawRange();
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.stale && state.view === "list") { state.stale = false; loadList().catch(showError); }
});

// ---- the live feed -----------------------------------------------------
// GET /_sesinbound/events: one event per processed record, id = cursor.
// The browser reconnects by itself with Last-Event-ID; when the stream is
// closed for good, a new one resumes with ?after=cursor.
// connect follows the feed through the shared worker (feed.js), one
// stream for every tab; where there is no SharedWorker, directly.
function connect() {
  if (typeof SharedWorker === "function" && !state.direct) {
    try { return connectShared(); } catch (e) { state.direct = true; }
  }
  connectDirect();
}

function connectShared() {
  const w = new SharedWorker(API + "/assets/feed.js", { name: "sesinbound-feed" });
  state.worker = w;
  w.port.onmessage = (m) => {
    const d = m.data || {};
    switch (d.type) {
      case "open": if (state.worker !== w) break; $("live").classList.add("on"); $("live").title = "Live: connected"; break;
      case "error": $("live").classList.remove("on"); $("live").title = "Live: reconnecting"; break;
      case "batch": took(d); break;
      case "reset": if (d.id) state.cursor = d.id; state.offset = 0; state.sel = -1; pending.length = 0; if (state.view === "list") loadList().catch(showError); break;
      case "dropped": if (state.view === "list") loadList().catch(showError); break;
    }
  };
  w.port.start();
  w.port.postMessage({ type: "start", cursor: state.cursor });
  tellViewing();
  // A worker that never reports the stream open (blocked, or paused by a
  // debugger) is given up for a stream of this page's own.
  setTimeout(() => {
    if (state.worker === w && !$("live").classList.contains("on")) {
      w.port.close(); state.worker = null; state.direct = true; connectDirect();
    }
  }, 3000);
  window.addEventListener("pagehide", () => w.port.postMessage({ type: "bye" }));
}

// tellViewing tells the shared worker which message this tab shows, so
// that a batch that leaves records out still says when that one changed.
function tellViewing() {
  if (state.worker) state.worker.port.postMessage({ type: "view", id: state.view === "message" ? state.msgId : "" });
}

// took draws a batch from the shared worker, which sends one only when it
// is time to draw (see feed.js). A batch that leaves records out holds
// more than a page: the first page is fetched anew instead.
function took(d) {
  const evs = d.events || [];
  if (d.cursor) state.cursor = d.cursor;
  if (d.left > 0) {
    if (document.hidden) { state.stale = true; return; }
    if (state.view === "message" && (d.touched || []).includes(state.msgId)) showMessage(state.msgId, true);
    if (state.view !== "list") { state.stale = true; return; }
    scheduleRefetch();
    return;
  }
  for (const e of evs) {
    try { pending.push(JSON.parse(e.data)); } catch (err) { console.warn("bad event", err); }
  }
  clearTimeout(flushTimer);
  flush();
}

function connectDirect() {
  const url = API + "/events" + (state.cursor ? "?after=" + encodeURIComponent(state.cursor) : "");
  const es = new EventSource(url);
  state.source = es;
  let failures = 0;
  es.onopen = () => { failures = 0; $("live").classList.add("on"); $("live").title = "Live: connected"; };
  es.onmessage = (ev) => {
    if (ev.lastEventId) state.cursor = ev.lastEventId;
    try { arrived(JSON.parse(ev.data)); } catch (e) { console.warn("bad event", e); }
  };
  // The record was emptied, or records after our cursor are gone: start over.
  es.addEventListener("reset", (ev) => { if (ev.lastEventId) state.cursor = ev.lastEventId; state.offset = 0; state.sel = -1; pending.length = 0; if (state.view === "list") loadList().catch(showError); });
  es.addEventListener("dropped", () => { if (state.view === "list") loadList().catch(showError); });
  es.onerror = () => {
    $("live").classList.remove("on");
    $("live").title = "Live: reconnecting";
    if (es.readyState === EventSource.CLOSED || ++failures > 3) {
      es.close();
      // No feed (an older server): fall back to polling the first page.
      if (!state.pollTimer) state.pollTimer = setInterval(poll, 2000);
      setTimeout(connect, 5000);
    }
  };
}

// poll stands in for the feed on a server without one: the first page,
// drawn again only when it changed.
async function poll() {
  if (state.view !== "list" || state.offset !== 0 || document.hidden) return;
  const body = await json(listPath()).catch(() => null);
  if (!body) return;
  const first = body.messages.length ? body.messages[0].messageId : "";
  const had = state.rows.length ? state.rows[0].messageId : "";
  if (body.total === state.total && first === had) return;
  pendingPage = body; // drawn on the same schedule as the feed's records
  schedule();
}

// ---- the message view --------------------------------------------------
function kv(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(el("dt", {}, k), el("dd", {}, v));
  }
  return dl;
}

function actionBox(a) {
  const failed = !!a.error || (a.event && a.event.error);
  const box = el("div", { class: "action" + (failed ? " failed" : a.note ? " noted" : ""), "data-action": a.type });
  box.append(el("div", { class: "type" }, a.type.replace(/Action$/, ""), " ", failed ? tag("failed", "fail") : tag("ok", "pass")));
  const pairs = [];
  switch (a.type) {
    case "S3Action":
      pairs.push(["bucket", a.bucket], ["key", a.key], ["KMS key", a.kmsKeyArn || ""], ["stored", a.kmsKeyArn ? "encrypted (SES envelope)" : "plain"]);
      break;
    case "SNSAction": pairs.push(["topic", a.topicArn]); break;
    case "LambdaAction": pairs.push(["function", a.functionArn], ["invocation", a.invocationType || "Event"], ["disposition", a.disposition || ""]); break;
    case "AddHeaderAction": pairs.push(["header", a.header]); break;
    case "StopAction": pairs.push(["scope", "RuleSet: no later rule runs"]); break;
    case "BounceAction": break;
  }
  if (a.event) {
    pairs.push([a.type === "LambdaAction" ? "invoked" : "notified", a.event.target], ["delivery", a.event.delivery || ""]);
  }
  box.append(kv(pairs));
  if (a.error) box.append(el("div", { class: "error" }, a.error));
  if (a.event && a.event.error) box.append(el("div", { class: "error" }, a.event.error));
  if (a.note) box.append(el("div", { class: "muted" }, a.note));
  return box;
}

function pipeline(rec, showNotRun) {
  const p = el("div", { class: "pipeline", id: "pipeline" });
  const c = rec.client || {};
  p.append(el("div", { class: "stage", "data-stage": "smtp" }, el("h3", {}, "SMTP session"),
    kv([["client IP", c.ip || ""], ["HELO", c.helo || ""], ["TLS", c.tls ? "yes (STARTTLS)" : "no"], ["size", fmtSize(rec.size || 0)],
      ["from", rec.from || "<>"], ["to", (rec.recipients || []).join(", ")],
      ["reply", rec.reply ? rec.reply.code + " " + rec.reply.text : "pending"]]),
    el("div", {}, verdicts(rec.verdicts))));
  for (const r of rec.rules || []) {
    p.append(el("div", { class: "arrow" }, "→"));
    const st = el("div", { class: "stage", "data-rule": r.name }, el("h3", {}, "Rule ", el("code", {}, r.name)),
      kv([["matched", (r.recipients || []).join(", ")]]));
    for (const a of r.actions || []) st.append(actionBox(a));
    p.append(st);
  }
  for (const b of rec.bounces || []) {
    p.append(el("div", { class: "arrow" }, "→"));
    p.append(el("div", { class: "stage", "data-stage": "bounce" }, el("h3", {}, "Bounce DSN (rule ", b.rule, ")"),
      kv([["to", b.to || "<>"], ["from", b.sender], ["reply", b.smtpReplyCode + " " + (b.statusCode || "")], ["status", b.status], ["delivery", b.delivery || ""]]),
      b.error ? el("div", { class: "error" }, b.error) : null));
  }
  if (showNotRun) {
    for (const n of rec.notRun || []) {
      p.append(el("div", { class: "arrow" }, "·"));
      p.append(el("div", { class: "stage skipped", "data-notrun": n.name }, el("h3", {}, "Rule ", el("code", {}, n.name)),
        el("div", { class: "muted" }, "did not run: " + n.reason + (n.by ? " (" + n.by + ")" : ""))));
    }
  }
  return p;
}

// What each envelope entry means (SES's S3 envelope, the S3 Encryption
// Client's v2 format).
const META = {
  "x-amz-key-v2": "the data key, encrypted by KMS (the CiphertextBlob of GenerateDataKey), base64",
  "x-amz-iv": "the 12-byte AES-GCM nonce, base64",
  "x-amz-cek-alg": "the content cipher: AES-256 in GCM mode, the 16-byte tag appended to the body",
  "x-amz-wrap-alg": "how the data key is wrapped: kms (the legacy KMS wrap, with the context below)",
  "x-amz-tag-len": "the GCM tag length in bits",
  "x-amz-matdesc": "the material description: the encryption context KMS bound the data key to",
  "x-amz-unencrypted-content-length": "the message's size before encryption",
};

function objQuery(n) { return "?object=" + n; }

function tabRendered(id, m) {
  const box = el("div", {});
  if (!m.html) {
    box.append(el("div", { class: "muted" }, "No HTML part; the text part:"), el("pre", { class: "code", id: "rendered-text" }, m.text || ""));
    return box;
  }
  const frame = el("iframe", { class: "frame", id: "mail-frame", sandbox: "", referrerpolicy: "no-referrer", title: "The message's HTML, sandboxed" });
  const set = (remote) => {
    // The srcdoc inherits the page's policy and adds its own: no script in
    // any case (the sandbox has no allow-scripts), and no remote content
    // until asked.
    const csp = remote
      ? "default-src 'none'; img-src data: http: https:; style-src 'unsafe-inline' http: https:; font-src data: http: https:"
      : "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:";
    frame.srcdoc = '<meta http-equiv="Content-Security-Policy" content="' + csp + '"><meta name="referrer" content="no-referrer">' + m.html;
  };
  if (m.remote) {
    const note = el("div", { class: "notice", id: "remote-notice" }, "Remote content is blocked.",
      el("button", { type: "button", class: "btn small", id: "load-remote", onclick: () => { set(true); note.replaceChildren("Remote content loaded."); } }, "Load remote content"));
    box.append(note);
  }
  set(false);
  box.append(frame);
  return box;
}

function tabText(m) { return el("pre", { class: "code", id: "text-part" }, m.text || "(no text part)"); }

function tabHeaders(m) {
  const t = el("table", { class: "grid", id: "headers" }, el("tr", {}, el("th", {}, "Name"), el("th", {}, "Value")));
  for (const h of m.headers) {
    t.append(el("tr", { class: h.by === "ses" ? "ses" : h.by ? "added" : "", title: h.by === "ses" ? "prepended by SES" : h.by ? "added by an " + h.by : "" },
      el("td", { class: "mono" }, h.name), el("td", { class: "mono" }, h.value)));
  }
  return el("div", {}, el("p", { class: "muted" }, "Highlighted: the headers SES prepended; amber: headers a rule's AddHeaderAction added."), t);
}

function tabRaw(id, m) {
  const pre = el("pre", { class: "code", id: "raw" }, "loading…");
  api("/messages/" + encodeURIComponent(id) + "/raw" + objQuery(m.object)).then(r => r.text()).then(t => { pre.textContent = t; }).catch(e => { pre.textContent = String(e); });
  return el("div", {}, el("p", {}, el("a", { class: "btn", href: API + "/messages/" + encodeURIComponent(id) + "/raw" + objQuery(m.object) + "&download=1", download: id + ".eml" }, "Download .eml"),
    " ", el("span", { class: "muted" }, "The mail as SES stored it, decrypted through the official S3 Encryption Client.")), pre);
}

function tabObjects(id, m) {
  const box = el("div", { id: "objects" });
  m.objects.forEach((o, n) => {
    const card = el("div", { class: "card", "data-object": n }, el("h3", {}, "s3://" + o.bucket + "/" + o.key),
      kv([["rule", o.rule], ["stored", o.error ? "nothing (the action failed)" : o.encrypted ? "encrypted, " + fmtSize(o.length) : "plain, " + fmtSize(o.length)], ["KMS key", o.kmsKeyArn || ""]]));
    if (o.error) card.append(el("div", { class: "error" }, o.error));
    if (o.headError) card.append(el("div", { class: "error" }, o.headError));
    if (o.metadata && Object.keys(o.metadata).length) {
      const t = el("table", { class: "grid meta" }, el("tr", {}, el("th", {}, "x-amz-meta-"), el("th", {}, "value"), el("th", {}, "meaning")));
      for (const k of Object.keys(o.metadata).sort()) {
        t.append(el("tr", { "data-meta": k }, el("td", { class: "mono" }, "x-amz-meta-" + k), el("td", { class: "mono" }, o.metadata[k]), el("td", {}, META[k.toLowerCase()] || "")));
      }
      card.append(el("h4", {}, "Metadata"), t);
    }
    if (o.encryptionContext) {
      const t = el("table", { class: "grid" });
      for (const k of Object.keys(o.encryptionContext).sort()) t.append(el("tr", {}, el("td", { class: "mono" }, k), el("td", { class: "mono" }, o.encryptionContext[k])));
      card.append(el("h4", {}, "Encryption context"), t);
    }
    if (!o.error) card.append(el("p", {}, el("a", { class: "btn", href: API + "/messages/" + encodeURIComponent(id) + "/stored" + objQuery(n), download: "" }, o.encrypted ? "Download the encrypted object" : "Download the object"),
      " ", el("a", { class: "btn", href: API + "/messages/" + encodeURIComponent(id) + "/raw" + objQuery(n) + "&download=1", download: "" }, "Download decrypted .eml")));
    box.append(card);
  });
  if (!m.objects.length) box.append(el("p", { class: "muted" }, "No S3 action stored this message."));
  return box;
}

function copyButton(text) {
  return el("button", { type: "button", class: "btn small", onclick: (ev) => {
    const b = ev.currentTarget;
    const done = () => { b.textContent = "Copied"; setTimeout(() => { b.textContent = "Copy"; }, 1200); };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => { b.textContent = "Copy failed"; });
  } }, "Copy");
}

function pretty(raw) {
  try { return JSON.stringify(typeof raw === "string" ? JSON.parse(raw) : raw, null, 2); } catch (e) { return String(raw); }
}

function tabEvents(rec) {
  const box = el("div", { id: "events" });
  for (const r of rec.rules || []) for (const a of r.actions || []) {
    if (!a.event) continue;
    const text = pretty(a.event.payload);
    box.append(el("div", { class: "card" },
      el("div", { class: "event-head" }, el("strong", {}, a.type.replace(/Action$/, "") + " → " + a.event.target), el("span", { class: "muted" }, "rule " + r.name + ", " + (a.event.delivery || "")), copyButton(text)),
      a.event.error ? el("div", { class: "error" }, a.event.error) : null,
      el("pre", { class: "code" }, text),
      a.event.reply ? el("div", {}, el("h4", {}, "The function's reply"), el("pre", { class: "code" }, pretty(a.event.reply))) : null));
  }
  for (const b of rec.bounces || []) {
    box.append(el("div", { class: "card" }, el("div", { class: "event-head" }, el("strong", {}, "Bounce DSN to " + (b.to || "<>")), el("span", { class: "muted" }, b.status), copyButton(b.dsn)),
      el("pre", { class: "code" }, b.dsn)));
  }
  if (!box.childNodes.length) box.append(el("p", { class: "muted" }, "No notification, Lambda event or DSN was emitted for this message."));
  return box;
}

function tabAttachments(id, m) {
  const t = el("table", { class: "grid", id: "attachments" }, el("tr", {}, el("th", {}, "File"), el("th", {}, "Type"), el("th", {}, "Size"), el("th", {}, "")));
  for (const a of m.attachments) {
    t.append(el("tr", {}, el("td", {}, a.filename + (a.inline ? " (inline)" : "")), el("td", { class: "mono" }, a.contentType), el("td", {}, fmtSize(a.size)),
      el("td", {}, el("a", { class: "btn small", href: API + "/messages/" + encodeURIComponent(id) + "/parts/" + a.part + objQuery(m.object), download: a.filename }, "Download"))));
  }
  return m.attachments.length ? t : el("p", { class: "muted" }, "No attachments.");
}

const TABS = ["Rendered", "Text", "Headers", "Raw", "S3 object", "Events", "Attachments"];

async function showMessage(id, refresh) {
  const v = $("view-message");
  let rec, m;
  try {
    rec = await json("/messages/" + encodeURIComponent(id));
  } catch (e) {
    v.replaceChildren(el("p", {}, el("a", { href: "#/" }, "‹ Messages")), el("p", { class: "error" }, String(e.message || e)));
    return;
  }
  const objN = state.objN || 0;
  try { m = await json("/messages/" + encodeURIComponent(id) + "/mail" + objQuery(objN)); } catch (e) { m = { objects: [], headers: [], attachments: [], error: String(e.message || e), object: 0 }; }
  if (state.msgId !== id) return;
  const tab = state.tab || "Rendered";
  const head = el("div", { class: "msg-head" },
    el("p", {}, el("a", { href: "#/", id: "back" }, "‹ Messages"), el("span", { class: "muted" }, "  Esc")),
    el("h1", { id: "subject" }, rec.subject || "(no subject)"),
    el("div", { class: "meta" }, el("span", {}, "from " + (rec.from || "<>")), el("span", {}, "to " + (rec.recipients || []).join(", ")),
      el("span", {}, new Date(rec.time).toLocaleString()), el("span", { class: "mono" }, rec.messageId)),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "btn danger", id: "delete-one", onclick: () => confirmDo("Delete this message and its stored objects?", async () => {
        const r = await api("/messages/" + encodeURIComponent(id), { method: "DELETE" });
        if (!r.ok && r.status !== 404) throw new Error((await r.json()).error);
        location.hash = "#/";
      }) }, "Delete"),
      m.objects.length > 1 ? el("label", {}, "object ", el("select", { id: "object-select", onchange: (ev) => { state.objN = +ev.target.value; showMessage(id); } },
        m.objects.map((o, n) => el("option", { value: n, selected: n === m.object }, "s3://" + o.bucket + "/" + o.key)))) : null));
  const toggle = el("label", { class: "toggle" }, el("input", { type: "checkbox", id: "show-notrun", checked: !!state.showNotRun, onchange: (ev) => {
    state.showNotRun = ev.target.checked; $("pipeline").replaceWith(pipeline(rec, state.showNotRun));
  } }), " show the rules that did not run (" + (rec.notRun || []).length + ")");
  const tabs = el("div", { class: "tabs", role: "tablist" });
  const body = el("div", { class: "tab", id: "tab-body" });
  const draw = (name) => {
    state.tab = name;
    for (const b of tabs.children) b.classList.toggle("on", b.dataset.tab === name);
    let c;
    if (m.error && ["Rendered", "Text", "Headers", "Raw", "Attachments"].includes(name)) c = el("p", { class: "error" }, m.error);
    else switch (name) {
      case "Rendered": c = tabRendered(id, m); break;
      case "Text": c = tabText(m); break;
      case "Headers": c = tabHeaders(m); break;
      case "Raw": c = tabRaw(id, m); break;
      case "S3 object": c = tabObjects(id, m); break;
      case "Events": c = tabEvents(rec); break;
      case "Attachments": c = tabAttachments(id, m); break;
    }
    body.replaceChildren(c);
  };
  for (const t of TABS) {
    const n = t === "Attachments" ? t + " (" + m.attachments.length + ")" : t === "S3 object" && m.objects.length > 1 ? "S3 objects (" + m.objects.length + ")" : t;
    tabs.append(el("button", { type: "button", role: "tab", "data-tab": t, onclick: () => draw(t) }, n));
  }
  v.replaceChildren(head, pipeline(rec, state.showNotRun), toggle, tabs, body);
  draw(tab);
  if (!refresh) window.scrollTo(0, 0);
}

// ---- the configuration -------------------------------------------------
function actionSummary(a) {
  const type = Object.keys(a)[0];
  const v = a[type] || {};
  return el("div", { class: "action" }, el("span", { class: "type" }, type.replace(/Action$/, "")), " ",
    el("span", { class: "mono" }, Object.entries(v).filter(([, x]) => x !== "" && x !== null).map(([k, x]) => k + "=" + (typeof x === "object" ? JSON.stringify(x) : x)).join("  ")));
}

async function showConfig() {
  const v = $("view-config");
  let c;
  try { c = await json("/status"); } catch (e) { v.replaceChildren(el("p", { class: "error" }, String(e.message || e))); return; }
  state.config = c;
  const rs = c.ruleSet || {};
  const rules = (rs.Rules || []).map((r, i) => el("div", { class: "card", "data-rule": r.Name },
    el("h3", {}, (i + 1) + ". ", el("code", {}, r.Name), " ", r.Enabled ? tag("enabled", "pass") : tag("disabled", "fail")),
    kv([["recipients", (r.Recipients || []).join(", ") || "all (of the verified domains)"], ["TLS", r.TlsPolicy || "Optional"], ["scan", r.ScanEnabled ? "spam and virus" : "off"]]),
    (r.Actions || []).map(actionSummary)));
  const findings = el("table", { class: "grid", id: "findings" }, el("tr", {}, el("th", {}, "Status"), el("th", {}, "Check"), el("th", {}, "Detail")),
    (c.findings || []).map(f => el("tr", {}, el("td", {}, tag(f.severity, f.severity === "ok" ? "pass" : f.severity === "warn" ? "warn" : "fail")), el("td", {}, f.check), el("td", {}, f.detail))));
  v.replaceChildren(
    el("p", {}, el("a", { href: "#/" }, "‹ Messages")),
    el("h2", {}, "Configuration"),
    el("p", { class: "muted" }, "Read-only. Change it with the rules file (" + c.source + ") or the SES API on this endpoint."),
    kv([["SMTP", c.smtpAddr], ["AWS endpoint", c.url], ["S3", c.backends.s3], ["KMS", c.backends.kms], ["data", c.dataDir || "memory only"],
      ["account", rs.AccountId || ""], ["region", rs.Region || ""], ["rule set", (rs.Metadata && rs.Metadata.Name) || ""], ["version", c.version]]),
    el("h3", {}, "Rules, in order"), ...(rules.length ? rules : [el("p", { class: "muted" }, "No rules: every recipient is refused.")]),
    el("h3", {}, "IP address filters"), (rs.Filters || []).length ? el("table", { class: "grid" }, rs.Filters.map(f => el("tr", {}, el("td", {}, f.Name), el("td", {}, f.IpFilter.Policy), el("td", { class: "mono" }, f.IpFilter.Cidr)))) : el("p", { class: "muted" }, "None."),
    el("h3", {}, "Identities (verified domains)"), el("p", {}, (rs.VerifiedDomains || []).join(", ") || el("span", { class: "muted" }, "None: mail to any domain is received.")),
    el("h3", {}, "Backend checks at startup"), findings);
}

// ---- navigation, keys, actions -----------------------------------------
function showError(e) { console.warn(e); }

function open(id) { location.hash = "#/m/" + encodeURIComponent(id); }

function route() {
  const h = location.hash;
  let view = "list";
  if (h.startsWith("#/m/")) { view = "message"; const id = decodeURIComponent(h.slice(4)); if (id !== state.msgId) { state.objN = 0; state.tab = ""; } state.msgId = id; }
  else if (h === "#/config") view = "config";
  else state.msgId = "";
  state.view = view;
  tellViewing();
  $("view-list").hidden = view !== "list";
  $("view-message").hidden = view !== "message";
  $("view-config").hidden = view !== "config";
  if (view === "message") {
    // Never show the previous message's view while this one loads.
    $("view-message").replaceChildren(el("p", { class: "muted" }, "loading…"));
    showMessage(state.msgId);
  }
  else if (view === "config") showConfig();
  else { state.listed = loadList().catch(showError); }
}

function moveSel(d) {
  if (!state.rows.length) return;
  state.sel = Math.max(0, Math.min(state.rows.length - 1, state.sel + d));
  for (const [i, tr] of [...$("rows").children].entries()) tr.classList.toggle("sel", i === state.sel);
  const tr = $("rows").children[state.sel];
  if (tr) tr.scrollIntoView({ block: "nearest" });
}

function keys(ev) {
  if (ev.target.closest && ev.target.closest("input, textarea, select, dialog")) {
    if (ev.key === "Escape" && ev.target.id === "search") ev.target.blur();
    return;
  }
  if (ev.metaKey || ev.ctrlKey || ev.altKey) return;
  if (ev.key === "Escape") { if (state.view !== "list") { location.hash = "#/"; ev.preventDefault(); } return; }
  if (state.view !== "list") return;
  switch (ev.key) {
    case "ArrowDown": case "j": moveSel(1); ev.preventDefault(); break;
    case "ArrowUp": case "k": moveSel(-1); ev.preventDefault(); break;
    case "Enter": if (state.sel >= 0 && state.rows[state.sel]) open(state.rows[state.sel].messageId); break;
    case "/": $("search").focus(); ev.preventDefault(); break;
  }
}

function confirmDo(text, fn) {
  const d = $("confirm");
  $("confirm-text").textContent = text;
  d.returnValue = "";
  d.onclose = () => { if (d.returnValue === "ok") fn().catch(e => alert(String(e.message || e))); };
  d.showModal();
  $("confirm-cancel").focus();
}

async function deleteAll() {
  // The reset API of the test integration; an older server has only
  // DELETE /_sesinbound/messages.
  let r = await api("/reset", { method: "POST" });
  if (r.status === 404 || r.status === 405) r = await api("/messages", { method: "DELETE" });
  if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || r.statusText);
  state.offset = 0; state.sel = -1;
  location.hash = "#/";
  await loadList();
}

function toggleTheme() {
  const root = document.documentElement;
  const dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  root.dataset.theme = dark ? "light" : "dark";
  localStorage.setItem("sesinbound-theme", root.dataset.theme);
}

async function emptyState() {
  try {
    const c = await json("/status");
    state.config = c;
    const [host, port] = splitHostPort(c.smtpAddr);
    $("swaks").textContent = "swaks --server " + host + ":" + port + " \\\n  --from sender@example.org --to inbox@example.com \\\n  --header \"Subject: hello\" --body \"Hello from swaks\"";
  } catch (e) { showError(e); }
}
function splitHostPort(a) {
  const i = a.lastIndexOf(":");
  let host = a.slice(0, i), port = a.slice(i + 1);
  if (host === "" || host === "0.0.0.0" || host === "[::]") host = "127.0.0.1";
  return [host, port];
}

document.addEventListener("DOMContentLoaded", () => {
  setupToken();
  $("theme").addEventListener("click", toggleTheme);
  $("delete-all").addEventListener("click", () => confirmDo("Delete every message and, in the embedded S3, every stored object?", deleteAll));
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); state.sel = -1; loadList().catch(showError); });
  $("next").addEventListener("click", () => { state.offset += PAGE; state.sel = -1; loadList().catch(showError); });
  let t = 0;
  $("search").addEventListener("input", (ev) => {
    clearTimeout(t);
    t = setTimeout(() => { state.q = ev.target.value.trim(); state.offset = 0; state.sel = -1; if (state.view !== "list") location.hash = "#/"; else loadList().catch(showError); }, 200);
  });
  $("search-form").addEventListener("submit", (ev) => ev.preventDefault());
  document.addEventListener("keydown", keys);
  $("rows").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-msg-id]");
    if (!tr) return;
    state.sel = [...$("rows").children].indexOf(tr);
    open(tr.dataset.msgId);
  });
  window.addEventListener("hashchange", route);
  route();
  // The feed connects once the first list is in, from its cursor.
  (state.listed || Promise.resolve()).then(connect);
});
