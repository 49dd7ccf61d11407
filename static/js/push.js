// Notifications on this phone: the browser's push subscription, saved on the server so that the
// reminder worker can reach this device. Settings and the first run share it.
import { api, csrfToken, problemText, t, store } from "./app.js";

// A push service that does not answer leaves subscribe() pending for minutes, with nothing on
// the screen: give up sooner and say so.
const WAIT_MS = 20_000;

const isIos = /iPad|iPhone|iPod/.test(navigator.userAgent) ||
  (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
const standalone = matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;

function base64UrlToBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** `promise`, or an Error saying `what` once WAIT_MS have passed without an answer. */
function within(promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), WAIT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function registration() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return null;
  return within(navigator.serviceWorker.ready,
    t("The app did not finish starting in this browser. Reload the page and try again."));
}

function denied() {
  return typeof Notification !== "undefined" && Notification.permission === "denied";
}

/** Keep on this phone what its service worker needs for reminders: which device it is (the
 * server's id of its subscription, named in "shown"/"opened" receipts) and the moods the daily
 * reminder's two actions save. */
export async function keepReminderChoices(prefs) {
  if (prefs && Number.isInteger(prefs.good_day_mood) && Number.isInteger(prefs.hard_day_mood)) {
    await store.setMeta("moods", { good: prefs.good_day_mood, hard: prefs.hard_day_mood });
  }
}

async function saveSubscription(subscription) {
  const json = subscription.toJSON();
  const saved = await api("POST", "/api/v1/push/subscriptions", {
    endpoint: json.endpoint,
    keys: { p256dh: json.keys.p256dh, auth: json.keys.auth },
  });
  if (saved.ok) {
    await store.setMeta("device", saved.data.id);
    const prefs = await api("GET", "/api/v1/me/reminders").catch(() => null);
    if (prefs && prefs.ok) await keepReminderChoices(prefs.data);
  }
  return saved;
}

/** A reminder's navigate URL names it (`?r=<id>`): the page it opened reports "opened" (Safari
 * shows declarative pushes without the service worker, which then cannot). */
export async function reportOpened() {
  const params = new URLSearchParams(location.search);
  const reminder = params.get("r");
  if (!reminder || !/^[0-9a-f-]{36}$/i.test(reminder)) return;
  params.delete("r");
  const rest = params.toString().replace(/=(&|$)/g, "$1");
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  await store.addReceipt(reminder, "opened");
  store.sendReceipts(csrfToken).catch(() => null); // offline: it waits for the next sync
  if (navigator.clearAppBadge) navigator.clearAppBadge().catch(() => null);
}

/** iOS: after "Add to Home Screen", the app opened from there is a fresh start (its own
 * storage): the first time, offer notifications again, where they can now work. */
export async function offerAfterInstall() {
  if (!isIos || !standalone || typeof Notification === "undefined") return false;
  if (Notification.permission !== "default" || await store.getMeta("install-offer")) return false;
  await store.setMeta("install-offer", new Date().toISOString());
  location.replace("/welcome#notify");
  return true;
}

/** What is true of this phone now: {text, subscribed, canTurnOn, iosHint}. */
export async function pushState() {
  const iosHint = isIos && !standalone;
  const reg = iosHint ? null : await registration().catch(() => null);
  if (!reg) {
    const text = iosHint
      ? t("Add Afterglow to your Home Screen to get reminders on this iPhone.")
      : t("This browser cannot show reminders.");
    return { text, subscribed: false, canTurnOn: false, iosHint };
  }
  const subscription = await reg.pushManager.getSubscription();
  const subscribed = Boolean(subscription);
  // Subscribed before this phone kept its device id (or after a sign-out wiped it): ask again.
  if (subscription && !(await store.getMeta("device"))) await saveSubscription(subscription).catch(() => null);
  let text = t("Notifications are on for this phone: your reminders arrive here.");
  if (!subscribed) {
    text = denied()
      ? t("Notifications are blocked for this site in the browser settings, so no reminder can reach this phone.")
      : t("Notifications are not turned on for this phone yet, so your reminders cannot reach it.");
  }
  return { text, subscribed, canTurnOn: !subscribed && !denied(), iosHint };
}

/** Subscribe this phone and tell the server, saying each step through `progress(text)`.
 * Throws an Error whose message is a sentence for the patient. */
export async function turnOn(progress) {
  try {
    progress(t("Getting ready…"));
    const reg = await registration();
    if (!reg) throw new Error(t("This browser cannot show reminders."));
    const key = await api("GET", "/api/v1/push/public-key");
    if (!key.ok) throw new Error(problemText(key));
    if (typeof Notification !== "undefined" && Notification.permission === "default") {
      progress(t("Asking this phone to allow notifications…"));
      if (await Notification.requestPermission() !== "granted") {
        throw new Error(t("Notifications were not allowed, so reminders stay off."));
      }
    }
    progress(t("Connecting to this phone’s push service…"));
    const subscription = await within(
      reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: base64UrlToBytes(key.data.public_key || key.data.key),
      }),
      t("The push service did not answer. Check the connection and try again."),
    ).catch((error) => {
      throw error.name === "Error" ? error : new Error(`The push service refused: ${error.message}`);
    });
    progress(t("Saving this phone for your reminders…"));
    const saved = await saveSubscription(subscription);
    if (!saved.ok) {
      // Half on (the browser subscribed, the server refused) would read as on: undo it.
      await subscription.unsubscribe().catch(() => null);
      throw new Error(problemText(saved));
    }
  } catch (error) {
    if (error instanceof TypeError) {
      throw new Error(t("You are offline. Turning on notifications needs a connection."));
    }
    throw error;
  }
}

/** Stop reminders on this phone: the server forgets it, then the browser. */
export async function turnOff() {
  const reg = await registration();
  const subscription = await reg?.pushManager.getSubscription();
  if (subscription) {
    await api("DELETE", "/api/v1/push/subscriptions", { endpoint: subscription.endpoint });
    await subscription.unsubscribe();
  }
}
