// Settings: reminders, profile, notifications on this device, export, sign out, delete account.
import { api, deviceZone, fillClinicPhone, onChange, problemText, ready, store, syncNow } from "./app.js";
import "./passkeys.js"; // the Passkeys section
import { pushState, turnOff, turnOn } from "./push.js";

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
  };
  try {
    const result = await api("PUT", "/api/v1/me/reminders", body);
    if (result.ok) say("reminders-status", "Reminders saved", "ok");
    else fail("reminders-error", problemText(result));
  } catch {
    fail("reminders-error", "You are offline. Try again when you have a connection.");
  }
});

// --- profile --------------------------------------------------------------------------------------
const profile = $("profile-form");
function fillProfile() {
  if (!account) return;
  profile.elements.display_name.value = account.display_name || "";
  profile.elements.timezone.value = account.timezone || deviceZone();
  profile.elements.clinic_phone.value = account.clinic_phone || "";
  $("account-email").textContent = `Signed in as ${account.email}`;
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
  };
  try {
    const result = await api("PATCH", "/api/v1/me", body);
    if (!result.ok) {
      fail("profile-error", problemText(result));
      return;
    }
    account = result.data;
    await store.setAccount(account);
    fillClinicPhone(account);
    say("profile-status", "Saved", "ok");
  } catch {
    fail("profile-error", "You are offline. Try again when you have a connection.");
  }
});

// --- notifications on this device (static/js/push.js) -----------------------------------------
async function showPushState() {
  const state = await pushState();
  $("push-state").textContent = state.text;
  $("ios-hint").hidden = !state.iosHint;
  $("push-on").hidden = !state.canTurnOn;
  $("push-off").hidden = !state.subscribed;
}

$("push-on").addEventListener("click", async () => {
  const button = $("push-on");
  button.disabled = true;
  try {
    await turnOn((text) => say("push-status", text, "pending"));
    say("push-status", "Done: this phone will get your reminders.", "ok");
  } catch (error) {
    say("push-status", `Could not turn on notifications. ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
  await showPushState();
});

$("push-off").addEventListener("click", async () => {
  try {
    await turnOff();
    say("push-status", "Notifications are off: no reminder reaches this phone.", "ok");
  } catch {
    say("push-status", "Could not reach the server; try again when online.");
  }
  await showPushState();
});

// --- data on this phone, export -------------------------------------------------------------------
async function showOutbox() {
  const pending = await store.pendingCount();
  $("outbox-state").textContent = pending
    ? `${pending} ${pending === 1 ? "entry is" : "entries are"} saved on this phone and will sync.`
    : "Everything on this phone is synced.";
}
$("sync-now").addEventListener("click", async () => {
  await syncNow();
  await showOutbox();
});

// --- sign out, delete ----------------------------------------------------------------------------
async function forgetThisDevice() {
  await store.wipe();
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
  if (pending && !confirm(`${pending} ${pending === 1 ? "entry has" : "entries have"} not synced yet and will be lost if you sign out now. Sign out anyway?`)) {
    return;
  }
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    const subscription = await registration?.pushManager?.getSubscription();
    if (subscription) await api("DELETE", "/api/v1/push/subscriptions", { endpoint: subscription.endpoint });
    const result = await api("POST", "/api/v1/auth/logout");
    if (!result.ok) throw new Error(problemText(result));
  } catch {
    say("account-status", "You need a connection to sign out.");
    return;
  }
  await forgetThisDevice();
  location.replace("/login");
});

$("sign-out-everywhere").addEventListener("click", async () => {
  await syncNow();
  const pending = await store.pendingCount();
  const unsynced = pending ? ` ${pending} ${pending === 1 ? "entry has" : "entries have"} not synced yet and will be lost.` : "";
  if (!confirm(`Sign out on every device, this one too?${unsynced}`)) return;
  try {
    const result = await api("POST", "/api/v1/auth/logout-everywhere");
    if (!result.ok) throw new Error(problemText(result));
  } catch {
    say("account-status", "You need a connection to sign out everywhere.");
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
    say("password-status", "Password changed. Every other device was signed out.", "ok");
  } catch {
    fail("password-error", "You are offline. Try again when you have a connection.");
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
    fail("delete-error", "You need a connection to delete your account.");
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
