// The clinician's "Notify me on this device": the same Web Push subscription as the patient's
// Settings (static/js/settings.js), sent to the same endpoints. The service worker (/sw.js)
// shows the alert's neutral push and opens /clinician when it is tapped.
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const state = $("notify-state");
const on = $("notify-on");
const off = $("notify-off");

function csrfCookie() {
  // `__Host-csrftoken` over HTTPS, `csrftoken` over plain http (server/security.py).
  for (const name of ["__Host-csrftoken", "csrftoken"]) {
    const match = document.cookie.match(new RegExp(`(?:^|;\\s*)${name}=([^;]+)`));
    if (match) return decodeURIComponent(match[1]);
  }
  return "";
}

async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = csrfCookie();
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((data && data.detail) || `the server answered ${response.status}`);
  return data;
}

function base64UrlToBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function say(text) {
  $("notify-status").textContent = text;
}

async function registration() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return null;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
  return navigator.serviceWorker.ready;
}

async function show() {
  const worker = await registration();
  if (!worker) {
    state.textContent = t("This browser cannot show notifications: alerts reach you by email.");
    on.hidden = off.hidden = true;
    return;
  }
  const subscription = await worker.pushManager.getSubscription();
  const denied = typeof Notification !== "undefined" && Notification.permission === "denied";
  state.textContent = subscription
    ? t("Alerts are shown on this device, and sent to you by email.")
    : denied
      ? t("Notifications are blocked for this site in the browser settings: alerts reach you by email.")
      : t("Alerts reach you by email. Turn on notifications to see them on this device too.");
  on.hidden = Boolean(subscription) || denied;
  off.hidden = !subscription;
}

on.addEventListener("click", async () => {
  say("");
  try {
    const worker = await registration();
    const key = await api("GET", "/api/v1/push/public-key");
    if (typeof Notification !== "undefined" && Notification.permission === "default") {
      if ((await Notification.requestPermission()) !== "granted") {
        say(t("Notifications were not allowed, so they stay off."));
        await show();
        return;
      }
    }
    const subscription = await worker.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64UrlToBytes(key.public_key),
    });
    const json = subscription.toJSON();
    await api("POST", "/api/v1/push/subscriptions", {
      endpoint: json.endpoint,
      keys: { p256dh: json.keys.p256dh, auth: json.keys.auth },
    });
    say(t("Notifications are on for this device."));
  } catch (error) {
    say(t("Could not turn on notifications: {error}", { error: error.message || error }));
  }
  await show();
});

off.addEventListener("click", async () => {
  say("");
  try {
    const worker = await registration();
    const subscription = await worker.pushManager.getSubscription();
    if (subscription) {
      await api("DELETE", "/api/v1/push/subscriptions", { endpoint: subscription.endpoint });
      await subscription.unsubscribe();
    }
    say(t("Notifications are off for this device."));
  } catch (error) {
    say(t("Could not turn off notifications: {error}", { error: error.message || error }));
  }
  await show();
});

show();
