// The marketer's page (/ui): segments, the churn-risk list and a customer lookup, over the service's own API.
// No framework and nothing fetched from elsewhere: the service serves this file, so the page works offline.
// Every answer that is not 200 becomes a sentence on the page (the API's {error, detail}), never a blank.
"use strict";

const KEY_STORE = "retention.apiKey"; // sessionStorage: the key lives as long as the tab, never on disk
const LOCALES = {en: "en-GB", ru: "ru-RU"}; // en-GB: "2 Dec 2026", like the report's English dates

// The words come from the service's phrase catalogue (/ui/words.json, features/words), the one the report and
// the API's reasons and rules use: {page: {key: text}, names: {segment|risk|task|action|weekday: {name: shown}}}.
const words = {};

async function loadWords(lang) {
  if (words[lang]) return;
  const response = await fetch(new URL(`words.json?lang=${lang}`, location.href));
  if (!response.ok) throw new Error(`words.json answered ${response.status}`);
  words[lang] = await response.json();
}

const state = {
  lang: new URLSearchParams(location.search).get("lang") === "ru" ? "ru" : "en",
  key: sessionStorage.getItem(KEY_STORE) || "",
  segments: null, rows: null, cutoff: null, sort: {key: "expected_lost_value", dir: -1},
  customer: null, picks: null,
};
const $ = (selector) => document.querySelector(selector);

function t(key, values = {}) {
  const text = words[state.lang]?.page[key] ?? words.en?.page[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

// Names the API sends in English; the catalogue's word where it has one, unchanged otherwise (a shop's own segment)
function word(table, name) {
  if (name === null || name === undefined || name === "") return t("none");
  return words[state.lang]?.names[table]?.[name] ?? name;
}

const fmt = {
  number(value, decimals = 0) {
    if (value === null || value === undefined || !Number.isFinite(value)) return t("none");
    return new Intl.NumberFormat(LOCALES[state.lang], {minimumFractionDigits: decimals,
      maximumFractionDigits: decimals}).format(value);
  },
  money(value) { return fmt.number(value, value !== null && Math.abs(value) < 100 ? 2 : 0); }, // as the report
  share(value, decimals = 1) {
    if (value === null || value === undefined || !Number.isFinite(value)) return t("none");
    return new Intl.NumberFormat(LOCALES[state.lang], {style: "percent", minimumFractionDigits: decimals,
      maximumFractionDigits: decimals}).format(value);
  },
  date(iso) {
    if (!iso) return t("none");
    const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
    return new Intl.DateTimeFormat(LOCALES[state.lang], {day: "numeric", month: state.lang === "ru" ? "long" :
      "short", year: "numeric", timeZone: "UTC"}).format(new Date(Date.UTC(y, m - 1, d)));
  },
};

class Problem extends Error {}

// One call to the service; the page sits at /ui/, so "../path" is the API next to it (behind a prefix too).
async function api(method, path, body) {
  const headers = {"Accept-Language": state.lang}; // reasons, rules and sentences come back in the page's language
  if (state.key) headers["Authorization"] = "Bearer " + state.key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(new URL("../" + path, location.href), {method, headers,
      body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    throw new Problem(t("unreachable", {why: err.message}));
  }
  const text = await response.text();
  if (!response.ok) {
    let error = response.statusText, detail = text.slice(0, 300);
    try {
      const body = JSON.parse(text);
      error = body.error ?? error;
      detail = String(body.detail ?? detail);
    } catch { /* not the API's JSON (a proxy's error page, say): its first words are the detail */ }
    const hint = response.status === 401 ? t("hint_401") : response.status === 503 ? t("hint_503") : "";
    detail = /[.!?]$/.test(detail) ? detail : detail + ".";
    throw new Problem(t("api_error", {status: response.status, error, detail}) + hint);
  }
  return text;
}

function say(where, message) {
  const box = $(where);
  box.textContent = message || "";
  box.hidden = !message;
}

// Run one section's work: its sentence box cleared, then filled if the work fails; aria-busy while it runs
// (assistive technology waits for the section to settle, and so do the browser tests).
async function guarded(section, work) {
  const box = `${section} .problem`;
  say(box, "");
  $(section).setAttribute("aria-busy", "true");
  try {
    await work();
  } catch (err) {
    say(box, err instanceof Problem ? err.message : t("page_error", {why: err.message}));
  } finally {
    $(section).setAttribute("aria-busy", "false");
  }
}

function cell(row, text, raw, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (raw !== undefined) td.dataset.value = raw === null ? "" : String(raw); // the unformatted value (the tests read it)
  if (className) td.className = className;
  return td;
}

// segments ---------------------------------------------------------------------------------------------------
async function loadSegments() {
  await guarded("#segments", async () => {
    const answer = JSON.parse(await api("GET", "segments"));
    state.segments = answer;
    renderSegments();
  });
}

function renderSegments() {
  const answer = state.segments;
  const body = $("#segments-table tbody");
  body.replaceChildren();
  if (!answer) return;
  for (const s of answer.segments) {
    const row = body.insertRow();
    row.dataset.segment = s.segment;
    cell(row, word("segment", s.segment), s.segment);
    cell(row, fmt.number(s.customers), s.customers, "num");
    cell(row, fmt.share(s.share), s.share, "num");
    cell(row, fmt.money(s.revenue), s.revenue, "num");
    cell(row, fmt.share(s.revenue_share), s.revenue_share, "num");
    cell(row, fmt.money(s.average_check), s.average_check, "num");
    row.cells[2].append(bar(s.share));
  }
  const total = answer.segments.reduce((sum, s) => sum + s.customers, 0);
  $("#segments-reading").textContent = t("r_base", {cutoff: fmt.date(answer.cutoff), n: fmt.number(total),
    k: answer.segments.filter((s) => s.customers > 0).length, golden: fmt.share(answer.golden_revenue_share, 0)});
  const select = $("#segment"), chosen = select.value;
  select.replaceChildren(select.options[0]);
  for (const s of answer.segments) select.add(new Option(word("segment", s.segment), s.segment));
  select.value = chosen;
}

function bar(share) {
  const span = document.createElement("span");
  span.className = "bar";
  span.style.width = `${Math.round(100 * share)}%`;
  return span;
}

// churn-risk list --------------------------------------------------------------------------------------------
function filters() {
  const read = (id, key, low, high) => {
    const value = Number($(id).value);
    if ($(id).value.trim() === "" || !Number.isFinite(value) || value < low || value > high) {
      throw new Problem(t("bad_filter", {what: t(key), low: fmt.number(low), high: fmt.number(high)}));
    }
    return value;
  };
  const query = {min_probability: read("#min-probability", "min_probability", 0, 1),
    min_value: read("#min-value", "min_value", 0, 1e12), limit: Math.round(read("#limit", "limit", 1, 10000))};
  if ($("#segment").value) query.segment = $("#segment").value;
  return query;
}

async function loadChurn() {
  await guarded("#churn", async () => {
    const answer = JSON.parse(await api("POST", "churn_list", filters()));
    state.rows = answer.customers;
    state.cutoff = answer.cutoff;
    renderChurn();
  });
}

function sorted(rows) {
  const {key, dir} = state.sort;
  const type = document.querySelector(`#churn-table th[data-key="${key}"]`).dataset.type;
  return [...rows].sort((a, b) => {
    const x = a[key], y = b[key];
    if (x === null || y === null) return (x === null) - (y === null); // missing values last, either way
    return dir * (type === "number" ? x - y : String(x).localeCompare(String(y), LOCALES[state.lang]));
  });
}

function renderChurn() {
  for (const th of document.querySelectorAll("#churn-table th")) {
    const on = th.dataset.key === state.sort.key;
    th.setAttribute("aria-sort", on ? (state.sort.dir > 0 ? "ascending" : "descending") : "none");
  }
  const body = $("#churn-table tbody");
  body.replaceChildren();
  if (!state.rows) return;
  for (const r of sorted(state.rows)) {
    const row = body.insertRow();
    const link = document.createElement("button");
    link.type = "button";
    link.className = "link";
    link.textContent = r.customer_id;
    link.addEventListener("click", () => { $("#customer-id").value = r.customer_id; lookUp(); });
    cell(row, "", r.customer_id).append(link);
    cell(row, word("segment", r.segment), r.segment);
    cell(row, fmt.share(r.churn_probability), r.churn_probability, "num");
    cell(row, word("risk", r.churn_risk), r.churn_risk);
    cell(row, fmt.money(r.expected_value), r.expected_value, "num");
    cell(row, fmt.money(r.expected_lost_value), r.expected_lost_value, "num");
    cell(row, fmt.date(r.last_order), r.last_order);
    cell(row, r.top_category ?? t("none"), r.top_category);
    cell(row, r.reasons, r.reasons, "reasons");
  }
  const lost = state.rows.reduce((sum, r) => sum + r.expected_lost_value, 0);
  $("#churn-reading").textContent = state.rows.length ?
    t("r_list", {n: fmt.number(state.rows.length), lost: fmt.money(lost)}) : t("r_list_none");
}

function sortBy(th) {
  const key = th.dataset.key;
  state.sort = key === state.sort.key ? {key, dir: -state.sort.dir} :
    {key, dir: th.dataset.type === "number" ? -1 : 1}; // numbers largest first: the riskiest on top
  renderChurn();
}

// The CSV is the API's own (format "csv"), for the filters on screen: the same file `retention churn-list` writes
async function downloadCsv() {
  await guarded("#churn", async () => {
    const text = await api("POST", "churn_list", {...filters(), format: "csv"});
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type: "text/csv;charset=utf-8"}));
    link.download = `churn_list_${state.cutoff || "now"}.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  });
}

// customer lookup --------------------------------------------------------------------------------------------
async function lookUp() {
  const id = $("#customer-id").value.trim();
  $("#customer").hidden = true;
  state.customer = state.picks = null;
  if (!id) return;
  await guarded("#lookup", async () => {
    state.customer = JSON.parse(await api("POST", "customer", {customer_id: id}));
    renderCustomer(); // the profile shows even when the recommender cannot answer (its sentence says why)
    state.picks = JSON.parse(await api("POST", "customer_picks", {customer_id: id, k: 10}));
    renderCustomer();
  });
}

function renderCustomer() {
  const c = state.customer, picks = state.picks ?? {items: [], fallback: false};
  if (!c) return;
  const best = c.best_weekday === null ? t("none") : t("at_hour", {day: word("weekday", c.best_weekday),
    hour: c.best_hour ?? "?"});
  const action = `${word("action", c.action.action)} (${c.action.rule})`; // the rule is the service's sentence
  const facts = [["customer_id", c.customer_id], ["segment", word("segment", c.segment)],
    ["previous_segment", word("segment", c.previous_segment)], ["rfm_cell", c.rfm_cell ?? t("none")],
    ["golden_now", t(c.is_golden_now ? "yes" : "no")], ["probability", fmt.share(c.churn_probability)],
    ["risk", word("risk", c.churn_risk)], ["golden_probability", fmt.share(c.golden_probability)],
    ["expected_value", fmt.money(c.expected_value)], ["expected_orders", fmt.number(c.expected_orders, 1)],
    ["next_order", fmt.date(c.next_order_date)], ["best_time", best], ["action", action]];
  const profile = $("#profile");
  profile.replaceChildren();
  for (const [key, value] of facts) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = t(key);
    dd.textContent = value;
    dd.dataset.field = key;
    profile.append(dt, dd);
  }
  const reasons = $("#reasons");
  reasons.replaceChildren(...(c.reasons.length ? c.reasons : [t("no_reasons")]).map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
  const body = $("#picks tbody");
  body.replaceChildren();
  for (const p of picks.items) {
    const row = body.insertRow();
    cell(row, p.item_id, p.item_id);
    cell(row, fmt.number(p.score, 3), p.score, "num");
    cell(row, p.reason, p.reason);
  }
  $("#fallback").hidden = !picks.fallback;
  $("#no-picks").hidden = state.picks === null || picks.items.length > 0;
  $("#customer").hidden = false;
}

// language and key -------------------------------------------------------------------------------------------
function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const button of document.querySelectorAll(".langs button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
  }
  $("#key-state").textContent = state.key ? t("key_kept") : "";
  say("#message", state.key ? "" : t("key_missing"));
  renderSegments();
  renderChurn();
  renderCustomer();
}

async function switchLanguage(lang) {
  await loadWords(lang);
  state.lang = lang;
  const url = new URL(location.href);
  url.searchParams.set("lang", lang);
  history.replaceState(null, "", url); // a reload or a shared link keeps the language
  applyLanguage();
  // the reasons and rules are the service's words: ask again in the new language
  if (state.key && state.rows) await loadChurn();
  if (state.customer) await lookUp();
}

async function useKey(key) {
  state.key = key;
  if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE);
  state.segments = state.rows = null; // what an earlier key was shown goes: a wrong key shows nothing but its error
  applyLanguage();
  if (key) await Promise.all([loadSegments(), loadChurn()]);
}

async function start() {
  try {
    await Promise.all([loadWords("en"), loadWords(state.lang)]);
  } catch (err) {
    say("#message", `The page could not load its words (${err.message}); reload it.`);
    return;
  }
  window.addEventListener("error", (event) => say("#message", t("page_error", {why: event.message})));
  window.addEventListener("unhandledrejection", (event) => say("#message", t("page_error", {why: event.reason})));
  for (const button of document.querySelectorAll(".langs button")) {
    button.addEventListener("click", () => switchLanguage(button.dataset.lang));
  }
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useKey($("#api-key").value.trim());
  });
  $("#key-forget").addEventListener("click", () => { $("#api-key").value = ""; useKey(""); });
  $("#churn-form").addEventListener("submit", (event) => { event.preventDefault(); loadChurn(); });
  $("#csv").addEventListener("click", downloadCsv);
  $("#lookup-form").addEventListener("submit", (event) => { event.preventDefault(); lookUp(); });
  for (const th of document.querySelectorAll("#churn-table th")) {
    th.tabIndex = 0;
    th.addEventListener("click", () => sortBy(th));
    th.addEventListener("keydown", (event) => { if (event.key === "Enter") sortBy(th); });
  }
  $("#api-key").value = state.key;
  document.documentElement.dataset.ready = "yes"; // words loaded, handlers on: the browser tests wait for it
  useKey(state.key);
}

start();
