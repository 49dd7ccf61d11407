// What every patient page shares: the service worker, the signed-in account on this device,
// the API helper with the CSRF header, sync triggers and the sync state in the top bar.
import { locale, t } from "./i18n.js";

export { locale, t };
export const store = self.Afterglow;
// The patient's own shell pages (server/pwa/shell.py fills them in as it serves this file): there
// the account is checked with the server. Not /crisis or /offline, which need no account.
const PATIENT_PAGES = [/* PATIENT_SHELL_PAGES */];

// Over HTTPS the server names its CSRF cookie `__Host-csrftoken` (only this host can set it);
// over plain http, `csrftoken`.
export function csrfCookie() {
  for (const name of ["__Host-csrftoken", "csrftoken"]) {
    const match = document.cookie.match(new RegExp(`(?:^|;\\s*)${name}=([^;]+)`));
    if (match) return decodeURIComponent(match[1]);
  }
  return null;
}

export async function csrfToken() {
  if (!csrfCookie()) {
    // Any GET makes the server set the cookie.
    await fetch("/healthz", { credentials: "same-origin" }).catch(() => null);
  }
  return csrfCookie();
}

/** fetch JSON; resolves {ok, status, data} (data is the problem document on errors), throws
 * only when the network is unreachable. */
export async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = (await csrfToken()) || "";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (response.status !== 204) data = await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

export function problemText(result, fallback) {
  const data = result && result.data;
  if (data && data.errors && data.errors.length) return data.errors.map((e) => e.detail).join(" ");
  return (data && data.detail) || fallback || t("Something went wrong. Please try again.");
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// --- time: the patient's own time zone decides what "today" is -------------------------------
export function deviceZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function localDay(iso, zone) {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(iso));
}

export function shiftDay(day, days) {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The wall-clock time typed in the patient's zone, as an ISO instant with its offset. */
export function zonedInstant(day, time, zone) {
  const guess = new Date(`${day}T${time}:00Z`);
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit",
  }).formatToParts(guess);
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const asZone = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
  const offset = asZone - guess.getTime();
  return new Date(guess.getTime() - offset).toISOString();
}

export function timeLabel(iso, zone) {
  return new Intl.DateTimeFormat(locale, { timeZone: zone, hour: "numeric", minute: "2-digit" }).format(new Date(iso));
}

export function dateLabel(iso, zone) {
  return new Intl.DateTimeFormat(locale, { timeZone: zone, weekday: "short", month: "short", day: "numeric" })
    .format(new Date(iso));
}

export function zoneOf(account) {
  return (account && account.timezone) || deviceZone();
}

// --- sync -------------------------------------------------------------------------------------
export async function syncNow() {
  const state = await store.sync(csrfToken);
  return state;
}

/** After a save: sync now, and ask the browser to retry in the background if this fails. */
export async function saved() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    if (registration && "sync" in registration) await registration.sync.register("afterglow-outbox");
  } catch {
    // Background Sync is a bonus: sync also runs on load and when the phone comes online.
  }
  return syncNow();
}

// --- a check-in in words -------------------------------------------------------------------------
const SEVERITY = { 1: t("mild"), 2: t("moderate"), 3: t("severe") };

/** The side-effect names a list was given by the server (`data-side-effects` on it). */
export function sideEffectLabels(element) {
  try {
    return JSON.parse(element.dataset.sideEffects || "{}");
  } catch {
    return {};
  }
}

/** What a check-in holds besides its mood, in words: each side effect with its strength (and
 * what "other" was), anxiety, energy, sleep. The note is the caller's to show. */
export function checkinDetail(data, labels) {
  const parts = (data.side_effects || []).map((e) => {
    const name = labels[e.code] || e.code;
    return `${e.code === "other" && e.text ? `${name}: ${e.text}` : name} (${SEVERITY[e.severity]})`;
  });
  if (data.anxiety !== undefined && data.anxiety !== null) parts.push(t("anxiety {n}", { n: data.anxiety }));
  if (data.energy !== undefined && data.energy !== null) parts.push(t("energy {n}", { n: data.energy }));
  if (data.sleep_hours !== undefined && data.sleep_hours !== null) {
    parts.push(t("slept {hours} h", { hours: new Intl.NumberFormat(locale).format(data.sleep_hours) }));
  }
  return parts.join(", ");
}

/** The detail and note lines of a check-in in a list of entries (none when there is none). */
export function checkinLines(data, labels) {
  const lines = [];
  const detail = checkinDetail(data, labels);
  if (detail) {
    const div = document.createElement("div");
    div.className = "entry-detail";
    div.textContent = detail;
    lines.push(div);
  }
  if (data.note) {
    const note = document.createElement("p");
    note.className = "entry-note";
    note.textContent = data.note;
    lines.push(note);
  }
  return lines;
}

export function syncBadge(rec) {
  const span = document.createElement("span");
  if (rec.state === "pending") {
    span.className = "badge pending";
    span.textContent = t("Saved on this phone — will sync");
  } else if (rec.state === "rejected") {
    span.className = "badge rejected";
    span.textContent = t("Not saved: {problem}", { problem: rec.problem });
  } else {
    span.className = "badge ok";
    span.textContent = t("Synced");
  }
  return span;
}

async function showSyncState() {
  const el = document.getElementById("sync-status");
  if (!el) return;
  const [pending, state] = await Promise.all([store.pendingCount(), store.getMeta("sync")]);
  el.classList.remove("pending", "ok");
  if (state && state.status === 401) {
    el.textContent = "";
    const link = document.createElement("a");
    link.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    link.textContent = pending ? t("Sign in again to sync {count}", { count: pending }) : t("Sign in again");
    el.append(link);
    el.classList.add("pending");
  } else if (pending) {
    el.textContent = navigator.onLine
      ? t("{count} saved on this phone — will sync", { count: pending })
      : t("Offline · {count} saved on this phone", { count: pending });
    el.classList.add("pending");
  } else if (state && state.ok) {
    el.textContent = t("Synced");
    el.classList.add("ok");
  } else {
    el.textContent = navigator.onLine ? "" : t("Offline");
  }
}

// --- the account on this device -----------------------------------------------------------------
/** The signed-in patient, from the server when reachable, else from this device. Sends people
 * who have never signed in here to the sign-in page. */
export async function currentAccount() {
  let account = await store.getMeta("account");
  try {
    const me = await api("GET", "/api/v1/me");
    if (me.ok && me.data.role === "patient") {
      await store.setAccount(me.data);
      account = me.data;
      await followLanguage(me.data.language);
    } else if (me.ok && me.data.role === "clinician") {
      location.replace("/clinician");
    } else if (me.status === 401 && !account) {
      location.replace(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    } else if (me.status === 401) {
      await store.setMeta("sync", { ok: false, status: 401, at: new Date().toISOString() });
    }
  } catch {
    // offline: this device's copy stands in
  }
  return account || null;
}

// --- the reader's language ------------------------------------------------------------------------
/** Tell the service worker which language's shell to serve from now on (it keeps one precache
 * per language); resolves once it has it. */
export async function tellWorkerLanguage(language) {
  const registration = await navigator.serviceWorker?.getRegistration();
  const worker = navigator.serviceWorker?.controller || registration?.active;
  if (!worker) return;
  await new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = resolve;
    worker.postMessage({ type: "language", language }, [channel.port2]);
    setTimeout(resolve, 500);  // a worker of an older version does not answer: go on
  });
}

/** A page served in another language than the account's (the worker's shell of the last one
 * signed in here, or the language was just changed): switch the worker and load it again,
 * once. */
async function followLanguage(language) {
  if (!language) return;
  await tellWorkerLanguage(language);
  if (language === locale) return;
  const key = `afterglow-language-reload:${location.pathname}`;
  if (sessionStorage.getItem(key) === language) return;
  sessionStorage.setItem(key, language);
  location.reload();
}

// The phone of the clinic the patient shares with (its settings win over the clinic-wide
// AFTERGLOW_CLINIC_PHONE; the patient's own number wins over both), kept per account for offline.
const clinicPhoneKey = (account) => `afterglow-clinic-phone:${account.id}`;
// The crisis lines of the clinic's country (its settings), kept per account for offline.
const crisisLinesKey = (account) => `afterglow-crisis-lines:${account.id}`;

async function refreshClinicPhone(account) {
  if (!account || account.role !== "patient" || !navigator.onLine) return;
  try {
    const clinic = await api("GET", "/api/v1/me/clinic");
    if (!clinic.ok) return;
    if (clinic.data.phone) localStorage.setItem(clinicPhoneKey(account), clinic.data.phone);
    else localStorage.removeItem(clinicPhoneKey(account));
    const dial = (clinic.data.phone || "").replace(/[^0-9+]/g, "");
    const lines = (clinic.data.crisis || []).filter((line) => !dial || line.href !== `tel:${dial}`);
    localStorage.setItem(crisisLinesKey(account), JSON.stringify(lines));
    fillClinicPhone(account);
  } catch {
    // offline or signed out: the last number known stays
  }
}

/** The page's crisis lines (the US lines, in the reader's language) replaced by those of the
 * clinic's country when it is another (UK: Samaritans, 111, 999; elsewhere its own number). */
function fillCrisisLines(account) {
  let lines = null;
  try {
    lines = account && JSON.parse(localStorage.getItem(crisisLinesKey(account)) || "null");
  } catch {
    return;
  }
  if (!lines || !lines.length) return;
  for (const list of document.querySelectorAll(".crisis-actions")) {
    const shown = [...list.querySelectorAll("a[href]:not([data-clinic-phone])")];
    if (lines.some((line) => shown.some((a) => a.getAttribute("href") === line.href))) continue;
    for (const a of shown) a.closest("li").remove();
    const before = list.querySelector(".clinic-phone");
    lines.forEach((line, i) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.className = `button ${i === 0 ? "button-crisis" : "button-crisis-quiet"}`;
      a.href = line.href;
      const small = document.createElement("small");
      small.textContent = line.name;
      a.append(`${line.action} `, small);
      li.append(a);
      list.insertBefore(li, before);
    });
  }
}

export function fillClinicPhone(account) {
  fillCrisisLines(account);
  const phone =
    (account && account.clinic_phone) || (account && localStorage.getItem(clinicPhoneKey(account)));
  if (!phone) return;
  for (const link of document.querySelectorAll("[data-clinic-phone]")) {
    link.href = `tel:${phone.replace(/[^0-9+]/g, "")}`;
    const text = link.querySelector("[data-clinic-phone-text]");
    if (text) text.textContent = phone;
    link.closest(".clinic-phone")?.removeAttribute("hidden");
  }
}

export function onChange(fn) {
  store.on((message) => {
    if (message.type === "changed" || message.type === "synced") fn(message);
  });
}

let readyPromise = null;
/** Start everything once: the worker, the account, the first sync. Resolves the account. */
export function ready() {
  if (!readyPromise) readyPromise = start();
  return readyPromise;
}

async function start() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
  }
  store.on(() => showSyncState());
  window.addEventListener("online", () => syncNow());
  window.addEventListener("offline", () => showSyncState());
  // Any page a reminder's navigate URL opens (`?r=`) reports "opened" (static/js/push.js).
  if (new URLSearchParams(location.search).has("r")) {
    import("./push.js").then((push) => push.reportOpened()).catch(() => null);
  }
  const own = PATIENT_PAGES.includes(location.pathname) || location.pathname === "/history";
  const account = own ? await currentAccount() : await store.getMeta("account");
  fillClinicPhone(account);
  refreshClinicPhone(account);
  await showSyncState();
  if (account) syncNow();
  return account;
}

ready();
