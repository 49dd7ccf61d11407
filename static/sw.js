/* Afterglow's service worker, served from /sw.js (root scope) with Cache-Control: no-cache.
 *
 * - Precaches a versioned app shell (the server fills in VERSION, PRECACHE, SHELL_PAGES and
 *   LANGUAGES from server/pwa/shell.py), its pages once per language; old caches go on activate.
 * - Shell pages hold no patient data (they render from IndexedDB), so they are served from the
 *   cache, the same for everyone who reads the same language: the one the signed-in person's
 *   pages said (app.js), else the browser's. Pages that do carry patient data (History, the
 *   clinician's pages) are network only and never cached; offline they get the offline page.
 * - The API is never cached. Background Sync sends the outbox with the pages' own code.
 * - Push: shows a declarative Web Push message's notification (or an alert's flat {title, body,
 *   url, tag}; never health data), reports "shown"/"opened" for reminders, and lets the daily
 *   reminder's two actions save a check-in; a click focuses or opens the app.
 */
importScripts("/static/js/store.js");

const VERSION = "dev";
const PRECACHE = [/* PRECACHE */];
const CACHE = `afterglow-shell-${VERSION}`;
const SHELL_PAGES = new Set([/* SHELL_PAGES */]);
// Shell pages are precached once per language (server/i18n.py), each under its plain URL in
// its own cache; the signed-in person's language (the pages tell it, app.js) picks the cache.
const LANGUAGES = [/* LANGUAGES */];
const pageCache = (language) => `${CACHE}-${language}`;
const META = "afterglow-meta";
const KEPT = new Set([CACHE, META, ...LANGUAGES.map(pageCache)]);

function precacheRequest(url) {
  return new Request(url, { cache: "reload", credentials: "same-origin", redirect: "error" });
}

async function precacheLanguage(language) {
  const cache = await caches.open(pageCache(language));
  await Promise.all([...SHELL_PAGES].map(async (page) => {
    const response = await fetch(precacheRequest(`${page}?lang=${language}`));
    if (!response.ok) throw new Error(`precache ${page} (${language}): ${response.status}`);
    await cache.put(page, response);
  }));
}

/** The language of the shell to serve: the last one a page of this app said its signed-in
 * person reads (null before any did, and after a sign-out). */
async function knownLanguage() {
  // caches.match, not caches.open: reading must not make the cache again after a sign-out.
  const said = await caches.match("/language", { cacheName: META }).catch(() => null);
  const language = said ? await said.text() : "";
  return LANGUAGES.includes(language) ? language : null;
}

/** Before anyone signed in here said theirs: the browser's, as Accept-Language would. */
function browserLanguage() {
  const tag = String(self.navigator.language || "").toLowerCase().split("-")[0];
  return LANGUAGES.includes(tag) ? tag : LANGUAGES[0];
}

async function currentLanguage() {
  return (await knownLanguage()) || browserLanguage();
}

async function setLanguage(language) {
  if (!LANGUAGES.includes(language)) return;
  const cache = await caches.open(META);
  await cache.put("/language", new Response(language));
}

/** The browser's share of the catalogue in the current language, for what the worker shows. */
async function workerMessages() {
  const language = await currentLanguage();
  const cached = await caches.match(`/i18n/${language}.json`, { cacheName: CACHE }).catch(() => null);
  return cached ? cached.json().catch(() => ({})) : {};
}

/** `message` in the current language, each {name} filled from `values` (static/js/i18n.js).
 * N_("…") marks a message for `make messages` where it is translated later, with t(). */
const N_ = (message) => message;
async function t(message, values) {
  const messages = await workerMessages();
  const text = Object.hasOwn(messages, message) ? messages[message] : message;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (values && name in values ? String(values[name]) : whole));
}

self.addEventListener("install", (event) => {
  const assets = PRECACHE.filter((url) => !SHELL_PAGES.has(url));
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll([...assets, ...LANGUAGES.map((l) => `/i18n/${l}.json`)].map(precacheRequest)))
      .then(() => Promise.all(LANGUAGES.map(precacheLanguage)))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => !KEPT.has(key)).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sw.js") return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request, url));
  } else if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/i18n/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(fromCacheFirst(request));
  }
});

async function navigate(request, url) {
  const shell = pageCache(await currentLanguage());
  if (SHELL_PAGES.has(url.pathname)) {
    const cached = await caches.match(url.pathname, { cacheName: shell });
    if (cached) return cached;
  }
  try {
    return await fetch(request);
  } catch (error) {
    const fallback = await caches.match(SHELL_PAGES.has(url.pathname) ? url.pathname : "/offline", { cacheName: shell });
    if (fallback) return fallback;
    throw error;
  }
}

async function fromCacheFirst(request) {
  const cached = await caches.match(request, { cacheName: CACHE, ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

// --- background sync -----------------------------------------------------------------------------
async function csrfToken() {
  if (self.cookieStore) {
    // `__Host-csrftoken` over HTTPS, `csrftoken` over plain http (server/security.py).
    for (const name of ["__Host-csrftoken", "csrftoken"]) {
      const cookie = await self.cookieStore.get(name);
      if (cookie) return cookie.value;
    }
  }
  return "";
}

self.addEventListener("sync", (event) => {
  if (event.tag !== "afterglow-outbox") return;
  event.waitUntil(self.Afterglow.sync(csrfToken).then((state) => {
    // A rejected promise tells the browser to retry later; only retry what can succeed.
    if (!state.ok && state.status !== 401 && state.status !== 403) throw new Error("sync failed");
  }));
});

// --- messages from pages ---------------------------------------------------------------------------
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "signed-out") {
    // Nothing of the patient's is in the shell cache; drop anything else a page may have added,
    // and the language they read (the next person's pages come in the browser's own).
    event.waitUntil(caches.keys().then((keys) =>
      Promise.all(keys.filter((key) => key === META || !KEPT.has(key)).map((key) => caches.delete(key)))));
  }
  if (event.data && event.data.type === "language") {
    // The person signed in reads this language: the shell of it from now on (offline too).
    event.waitUntil(setLanguage(event.data.language)
      .finally(() => event.ports[0] && event.ports[0].postMessage("ok")));
  }
});

// --- push --------------------------------------------------------------------------------------
// A reminder arrives as a declarative Web Push message ({web_push: 8030, notification: {title,
// body, navigate, tag}, app_badge}): Safari 18.4+ shows it without this worker; here the same
// fields are read and shown. Alerts still come flat ({title, body, url, tag}). Never health data.
const LOG_TAGS = new Set(["daily", "evening"]);
const CHECKIN_ACTIONS = { good: N_("Good day"), hard: N_("Hard day") }; // the daily reminder only

function safeUrl(path) {
  // Only a URL inside this app: a push message can never send the patient elsewhere.
  try {
    const url = new URL(typeof path === "string" ? path : "/", self.location.origin);
    if (url.origin === self.location.origin && !String(path).startsWith("//")) return url;
  } catch { /* fall through */ }
  return new URL("/", self.location.origin);
}

/** The notification a push message describes, whichever of the two shapes it has. */
function described(payload) {
  const declarative = payload && payload.web_push === 8030 && payload.notification;
  const fields = declarative ? payload.notification : payload || {};
  const target = safeUrl(declarative ? fields.navigate : fields.url);
  const reminder = target.searchParams.get("r");
  return {
    title: typeof fields.title === "string" && fields.title ? fields.title : "Afterglow",
    body: typeof fields.body === "string" ? fields.body : "Time for a check-in",
    tag: typeof fields.tag === "string" ? fields.tag : "afterglow",
    url: target.pathname + target.search,
    reminder: /^[0-9a-f-]{36}$/i.test(reminder || "") ? reminder : null,
    badge: declarative && Number.isInteger(payload.app_badge) ? payload.app_badge : null,
  };
}

/** A "shown"/"opened" receipt, kept with the outbox's data until the server has it. */
async function receipt(reminder, event) {
  if (!reminder) return;
  await self.Afterglow.addReceipt(reminder, event);
  await self.Afterglow.sendReceipts(csrfToken).catch(() => null);
}

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch {
    payload = {};
  }
  const shown = described(payload);
  event.waitUntil((async () => {
    // The two check-in actions need the moods the patient chose (kept by Settings on this
    // phone) and a browser that shows actions; elsewhere a tap opens Today instead.
    const moods = shown.tag === "daily" && shown.reminder ? await self.Afterglow.getMeta("moods").catch(() => null) : null;
    const canAct = moods && (typeof Notification === "undefined" || !("maxActions" in Notification) || Notification.maxActions >= 2);
    const actions = canAct
      ? await Promise.all(Object.entries(CHECKIN_ACTIONS).map(async ([action, title]) => ({ action, title: await t(title) })))
      : [{ action: "open", title: LOG_TAGS.has(shown.tag) ? await t("Log now") : await t("Open") }];
    await self.registration.showNotification(shown.title, {
      body: shown.body,
      tag: shown.tag,
      data: shown.reminder ? { url: shown.url, reminder: shown.reminder } : { url: shown.url },
      icon: "/static/icons/icon-192.png",
      badge: "/static/icons/maskable-192.png",
      actions,
    });
    if (shown.badge && self.navigator.setAppBadge) await self.navigator.setAppBadge(shown.badge).catch(() => null);
    await receipt(shown.reminder, "shown");
  })());
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  if (CHECKIN_ACTIONS[event.action] && data.reminder) {
    event.waitUntil(checkInFrom(event.action, data));
    return;
  }
  event.waitUntil(Promise.all([receipt(data.reminder, "opened"), openApp(safeUrl(data.url))]));
});

/** "Good day" / "Hard day": a check-in saved through the same outbox and /sync as the app.
 * Its id is the reminder's, so a repeat (a second tap, a retry) is the same entry, not two. */
async function checkInFrom(action, data) {
  const moods = await self.Afterglow.getMeta("moods");
  const mood = moods && moods[action];
  if (!Number.isInteger(mood)) return openApp(safeUrl(data.url));
  await self.Afterglow.queue("checkin", data.reminder, "upsert", {
    recorded_at: new Date().toISOString(), mood, side_effects: [],
  });
  await self.Afterglow.addReceipt(data.reminder, "opened");
  const state = await self.Afterglow.sync(csrfToken);
  const waiting = await self.Afterglow.pendingCount();
  if (waiting && self.registration.sync) {
    await self.registration.sync.register("afterglow-outbox").catch(() => null);
  }
  if (self.navigator.clearAppBadge) await self.navigator.clearAppBadge().catch(() => null);
  // A quiet confirmation: no sound, no vibration, nothing about what was saved.
  return self.registration.showNotification("Afterglow", {
    body: state.ok && !waiting ? await t("Saved. Thank you.") : await t("Saved on this phone. It will be sent when you are online."),
    tag: "saved",
    silent: true,
    data: { url: "/" },
  });
}

/** Bring the app forward at `target`: an open window is moved there, else a new one opens. */
async function openApp(target) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === target.origin);
  if (!open) return self.clients.openWindow(target.href);
  const moved = open.url === target.href ? open : (await open.navigate(target.href)) || open;
  return moved.focus();
}
