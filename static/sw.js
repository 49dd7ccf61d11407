/* Afterglow's service worker, served from /sw.js (root scope) with Cache-Control: no-cache.
 *
 * - Precaches a versioned app shell (the server fills in VERSION, PRECACHE and SHELL_PAGES from
 *   server/pwa/shell.py); old caches go on activate.
 * - Shell pages hold no patient data (they render from IndexedDB), so they are served from the
 *   cache, the same for whoever is signed in. Pages that do carry patient data (History, the
 *   clinician's pages) are network only and never cached; offline they get the offline page.
 * - The API is never cached. Background Sync sends the outbox with the pages' own code.
 * - Push: shows {title, body, url, tag} (never health data); a click focuses or opens the app.
 */
importScripts("/static/js/store.js");

const VERSION = "dev";
const PRECACHE = [/* PRECACHE */];
const CACHE = `afterglow-shell-${VERSION}`;
const SHELL_PAGES = new Set([/* SHELL_PAGES */]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload", credentials: "same-origin", redirect: "error" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
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
  } else if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(fromCacheFirst(request));
  }
});

async function navigate(request, url) {
  if (SHELL_PAGES.has(url.pathname)) {
    const cached = await caches.match(url.pathname, { cacheName: CACHE });
    if (cached) return cached;
  }
  try {
    return await fetch(request);
  } catch (error) {
    const fallback = await caches.match(SHELL_PAGES.has(url.pathname) ? url.pathname : "/offline", { cacheName: CACHE });
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
    // Nothing of the patient's is in the shell cache; drop anything else a page may have added.
    event.waitUntil(caches.keys().then((keys) =>
      Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key)))));
  }
});

// --- push --------------------------------------------------------------------------------------
const LOG_TAGS = new Set(["daily", "evening"]);

function safePath(path) {
  // Only a path inside this app: a push message can never send the patient elsewhere.
  return typeof path === "string" && path.startsWith("/") && !path.startsWith("//") ? path : "/";
}

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch {
    payload = {};
  }
  const tag = typeof payload.tag === "string" ? payload.tag : "afterglow";
  const url = safePath(payload.url);
  event.waitUntil(self.registration.showNotification(payload.title || "Afterglow", {
    body: payload.body || "Time for a check-in",
    tag,
    data: { url },
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/maskable-192.png",
    actions: [{ action: "open", title: LOG_TAGS.has(tag) ? "Log now" : "Open" }],
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(safePath(event.notification.data && event.notification.data.url), self.location.origin);
  event.waitUntil(openApp(target));
});

/** Bring the app forward at `target`: an open window is moved there, else a new one opens. */
async function openApp(target) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === target.origin);
  if (!open) return self.clients.openWindow(target.href);
  const moved = open.url === target.href ? open : (await open.navigate(target.href)) || open;
  return moved.focus();
}
