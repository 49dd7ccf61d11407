// Settings: reminders, profile, notifications on this device, export, sign out, delete account.
import {
  api, deviceZone, fillClinicPhone, locale, onChange, problemText, ready, store, syncNow, t,
  tellWorkerLanguage,
} from "./app.js";
import "./passkeys.js"; // the Passkeys section
import { keepReminderChoices, pushState, turnOff, turnOn } from "./push.js";

const $ = (id) => document.getElementById(id);
let account = null;

function say(id, text, kind) {
  const el = $(id);
  el.textContent = text;
  el.className = `save-status ${kind || ""}`;
}

function fail(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

// --- reminders ----------------------------------------------------------------------------------
const reminders = $("reminders-form");
const toggles = [["daily-on", ["daily-time"]], ["weekly-on", ["weekly-day", "weekly-time"]], ["quiet-on", ["quiet-start", "quiet-end"]]];
function syncToggles() {
  for (const [box, fields] of toggles) for (const f of fields) $(f).disabled = !$(box).checked;
}
reminders.addEventListener("change", syncToggles);

async function loadReminders() {
  const got = await api("GET", "/api/v1/me/reminders").catch(() => null);
  if (!got || !got.ok) return;
  const p = got.data;
  const time = (v) => (v ? String(v).slice(0, 5) : "");
  $("daily-on").checked = Boolean(p.daily_checkin_time);
  if (p.daily_checkin_time) $("daily-time").value = time(p.daily_checkin_time);
  $("weekly-on").checked = Boolean(p.weekly_phq9_day);
  if (p.weekly_phq9_day) $("weekly-day").value = String(p.weekly_phq9_day);
  if (p.weekly_phq9_time) $("weekly-time").value = time(p.weekly_phq9_time);
  $("day-before").checked = Boolean(p.infusion_day_before);
  $("two-hours").checked = Boolean(p.infusion_two_hours);
  $("evening-after").checked = Boolean(p.infusion_evening_after);
  $("quiet-on").checked = Boolean(p.quiet_hours_start && p.quiet_hours_end);
  if (p.quiet_hours_start) $("quiet-start").value = time(p.quiet_hours_start);
  if (p.quiet_hours_end) $("quiet-end").value = time(p.quiet_hours_end);
  $("good-day-mood").value = String(p.good_day_mood);
  $("hard-day-mood").value = String(p.hard_day_mood);
  $("email-reminders").checked = Boolean(p.email_reminders);
  await keepReminderChoices(p);
  syncToggles();
}

reminders.addEventListener("submit", async (event) => {
  event.preventDefault();
  fail("reminders-error", "");
  const on = (id, value) => ($(id).checked && value ? value : null);
  const body = {
    daily_checkin_time: on("daily-on", $("daily-time").value),
    weekly_phq9_day: $("weekly-on").checked ? $("weekly-day").value : null,
    weekly_phq9_time: on("weekly-on", $("weekly-time").value),
    infusion_day_before: $("day-before").checked,
    infusion_two_hours: $("two-hours").checked,
    infusion_evening_after: $("evening-after").checked,
    quiet_hours_start: on("quiet-on", $("quiet-start").value),
    quiet_hours_end: on("quiet-on", $("quiet-end").value),
    good_day_mood: Number($("good-day-mood").value),
    hard_day_mood: Number($("hard-day-mood").value),
    email_reminders: $("email-reminders").checked,
  };
  try {
    const result = await api("PUT", "/api/v1/me/reminders", body);
    if (result.ok) await keepReminderChoices(result.data);
    if (result.ok) say("reminders-status", t("Reminders saved"), "ok");
    else fail("reminders-error", problemText(result));
  } catch {
    fail("reminders-error", t("You are offline. Try again when you have a connection."));
  }
});

// --- profile --------------------------------------------------------------------------------------
const profile = $("profile-form");
function fillProfile() {
  if (!account) return;
  profile.elements.display_name.value = account.display_name || "";
  profile.elements.timezone.value = account.timezone || deviceZone();
  profile.elements.clinic_phone.value = account.clinic_phone || "";
  profile.elements.language.value = account.language || locale;
  $("account-email").textContent = t("Signed in as {email}", { email: account.email });
  passwordForm.elements.username.value = account.email;
}
$("use-device-zone").addEventListener("click", () => { profile.elements.timezone.value = deviceZone(); });
if (Intl.supportedValuesOf) {
  $("timezones").replaceChildren(...Intl.supportedValuesOf("timeZone").map((z) => new Option(z)));
}

profile.addEventListener("submit", async (event) => {
  event.preventDefault();
  fail("profile-error", "");
  const body = {
    display_name: profile.elements.display_name.value.trim(),
    timezone: profile.elements.timezone.value.trim(),
    clinic_phone: profile.elements.clinic_phone.value.trim() || null,
    language: profile.elements.language.value,
  };
  try {
    const result = await api("PATCH", "/api/v1/me", body);
    if (!result.ok) {
      fail("profile-error", problemText(result));
      return;
    }
    account = result.data;
    await store.setAccount(account);
    if (account.language !== locale) {
      // Every page (and the shell this phone keeps) in the new language from now on.
      await tellWorkerLanguage(account.language);
      location.reload();
      return;
    }
    fillClinicPhone(account);
    say("profile-status", "Saved", "ok");
  } catch {
    fail("profile-error", t("You are offline. Try again when you have a connection."));
  }
});

// --- notifications on this device (static/js/push.js) -----------------------------------------
async function showPushState() {
  const state = await pushState();
  $("push-state").textContent = state.text;
  $("ios-hint").hidden = !state.iosHint;
  $("push-on").hidden = !state.canTurnOn;
  $("push-off").hidden = !state.subscribed;
  await showDevices();
}

/** "Your last reminders": per device, delivered / shown / opened over the last two weeks, and
 * a hint for a device whose reminders arrive but are never shown. */
async function showDevices() {
  const got = await api("GET", "/api/v1/push/devices").catch(() => null);
  const list = $("device-reports");
  if (!got || !got.ok || !got.data.length) {
    list.hidden = true;
    return;
  }
  const mine = await store.getMeta("device");
  $("device-list").replaceChildren(...got.data.map((device, n) => {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = device.id === mine ? t("This phone") : t("Device {n}", { n: n + 1 });
    const shown = device.shown === null ? t("not reported") : String(device.shown);
    const counts = document.createElement("span");
    counts.className = "device-counts";
    counts.textContent = t("delivered {delivered} · shown {shown} · opened {opened}",
      { delivered: device.delivered, shown, opened: device.opened });
    item.append(name, ": ", counts);
    if (device.check_settings) {
      const hint = document.createElement("p");
      hint.className = "notice device-hint";
      hint.textContent = t("Reminders reach this device but have not been shown for 7 days. Check the phone’s notification settings for Afterglow (allowed, not silenced by Focus or Do Not Disturb).");
      item.append(hint);
    }
    return item;
  }));
  list.hidden = false;
}

$("push-on").addEventListener("click", async () => {
  const button = $("push-on");
  button.disabled = true;
  try {
    await turnOn((text) => say("push-status", text, "pending"));
    say("push-status", t("Done: this phone will get your reminders."), "ok");
  } catch (error) {
    say("push-status", t("Could not turn on notifications. {reason}", { reason: error.message }), "error");
  } finally {
    button.disabled = false;
  }
  await showPushState();
});

$("push-off").addEventListener("click", async () => {
  try {
    await turnOff();
    say("push-status", t("Notifications are off: no reminder reaches this phone."), "ok");
  } catch {
    say("push-status", t("Could not reach the server; try again when online."));
  }
  await showPushState();
});

// --- data on this phone, export -------------------------------------------------------------------
async function showOutbox() {
  const pending = await store.pendingCount();
  $("outbox-state").textContent = pending
    ? (pending === 1 ? t("1 entry is saved on this phone and will sync.")
      : t("{count} entries are saved on this phone and will sync.", { count: pending }))
    : t("Everything on this phone is synced.");
}
$("sync-now").addEventListener("click", async () => {
  await syncNow();
  await showOutbox();
});

// --- sign out, delete ----------------------------------------------------------------------------
async function forgetThisDevice() {
  await store.wipe();
  // The language they read goes too (sw.js keeps it there): before leaving the page, so the
  // next page is already in the browser's own.
  await caches.delete("afterglow-meta").catch(() => null);
  const registration = await navigator.serviceWorker?.getRegistration();
  registration?.active?.postMessage({ type: "signed-out" });
  try {
    const subscription = await registration?.pushManager?.getSubscription();
    await subscription?.unsubscribe();
  } catch {
    // the server already forgot this device's subscription with the session or the account
  }
}

$("sign-out").addEventListener("click", async () => {
  await syncNow();
  const pending = await store.pendingCount();
  if (pending && !confirm(pending === 1
    ? t("1 entry has not synced yet and will be lost if you sign out now. Sign out anyway?")
    : t("{count} entries have not synced yet and will be lost if you sign out now. Sign out anyway?", { count: pending }))) {
    return;
  }
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    const subscription = await registration?.pushManager?.getSubscription();
    if (subscription) await api("DELETE", "/api/v1/push/subscriptions", { endpoint: subscription.endpoint });
    const result = await api("POST", "/api/v1/auth/logout");
    if (!result.ok) throw new Error(problemText(result));
  } catch {
    say("account-status", t("You need a connection to sign out."));
    return;
  }
  await forgetThisDevice();
  location.replace("/login");
});

$("sign-out-everywhere").addEventListener("click", async () => {
  await syncNow();
  const pending = await store.pendingCount();
  let unsynced = "";
  if (pending === 1) unsynced = " " + t("1 entry has not synced yet and will be lost.");
  else if (pending) unsynced = " " + t("{count} entries have not synced yet and will be lost.", { count: pending });
  if (!confirm(t("Sign out on every device, this one too?") + unsynced)) return;
  try {
    const result = await api("POST", "/api/v1/auth/logout-everywhere");
    if (!result.ok) throw new Error(problemText(result));
  } catch {
    say("account-status", t("You need a connection to sign out everywhere."));
    return;
  }
  await forgetThisDevice();
  location.replace("/login");
});

// --- password -------------------------------------------------------------------------------------
const passwordForm = $("password-form");
passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  fail("password-error", "");
  say("password-status", "");
  const body = {
    current_password: passwordForm.elements.current_password.value,
    new_password: passwordForm.elements.new_password.value,
  };
  try {
    const result = await api("POST", "/api/v1/auth/password", body);
    if (!result.ok) {
      fail("password-error", problemText(result));
      return;
    }
    passwordForm.reset();
    say("password-status", t("Password changed. Every other device was signed out."), "ok");
  } catch {
    fail("password-error", t("You are offline. Try again when you have a connection."));
  }
});

const dialog = $("delete-dialog");
$("delete-account").addEventListener("click", () => {
  $("delete-confirm").checked = false;
  $("delete-password").value = "";
  $("delete-go").disabled = true;
  fail("delete-error", "");
  dialog.showModal();
});
$("delete-confirm").addEventListener("change", () => { $("delete-go").disabled = !$("delete-confirm").checked; });
$("delete-go").addEventListener("click", async () => {
  try {
    // Deleting asks the owner to prove who they are again (the last five minutes).
    const proof = await api("POST", "/api/v1/auth/reauthenticate", { password: $("delete-password").value });
    if (!proof.ok) {
      fail("delete-error", problemText(proof));
      return;
    }
    const result = await api("DELETE", "/api/v1/me");
    if (!result.ok) {
      fail("delete-error", problemText(result));
      return;
    }
  } catch {
    fail("delete-error", t("You need a connection to delete your account."));
    return;
  }
  await forgetThisDevice();
  location.replace("/signup?deleted=1");
});

function showOffline() {
  $("offline-note").hidden = navigator.onLine;
}
window.addEventListener("online", showOffline);
window.addEventListener("offline", showOffline);

account = await ready();
showOffline();
syncToggles();
fillProfile();
await Promise.all([showOutbox(), showPushState(), loadReminders()]);
onChange(() => showOutbox());
