// First run, one step at a time and each one skippable: the patient's day (time zone, daily
// reminder time, clinic phone), notifications on this phone, the next infusion, and sharing with
// their psychiatrist. Without the second and third, reminders would silently never arrive.
import {
  api, deviceZone, localDay, problemText, ready, saved, store, t, uuid, zonedInstant, zoneOf,
} from "./app.js";
import { pushState, turnOn } from "./push.js";

const $ = (id) => document.getElementById(id);
const steps = [...document.querySelectorAll(".step")];
let account = null;

function show(step) {
  for (const each of steps) each.hidden = each !== step;
  const heading = step.querySelector("h2");
  window.scrollTo({ top: 0 });
  heading.focus({ preventScroll: true });
  if (step.id === "step-notify") showPush();
}

function next(from) {
  show(steps[steps.indexOf(from) + 1]);
}

for (const skip of document.querySelectorAll("[data-skip]")) {
  skip.addEventListener("click", () => next(skip.closest(".step")));
}

function offline(error) {
  return error.message && error.message !== "Failed to fetch"
    ? error.message : t("You are offline. Try again when you have a connection.");
}

// --- 1. the patient's day --------------------------------------------------------------------------
const day = $("welcome-form");
day.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("form-error").hidden = true;
  try {
    const me = await api("PATCH", "/api/v1/me", {
      timezone: day.elements.timezone.value.trim(),
      clinic_phone: day.elements.clinic_phone.value.trim() || null,
    });
    if (!me.ok) throw new Error(problemText(me));
    account = me.data;
    await store.setAccount(account);
    const time = day.elements.daily_checkin_time.value;
    const current = await api("GET", "/api/v1/me/reminders");
    if (current.ok) {
      const done = await api("PUT", "/api/v1/me/reminders", { ...current.data, daily_checkin_time: time || null });
      if (!done.ok) throw new Error(problemText(done));
    }
    next(day);
  } catch (error) {
    $("form-error").textContent = offline(error);
    $("form-error").hidden = false;
  }
});

// --- 2. notifications on this phone ----------------------------------------------------------------
async function showPush() {
  const state = await pushState();
  $("welcome-push-state").textContent = state.text;
  $("welcome-ios-hint").hidden = !state.iosHint;
  $("welcome-push-on").hidden = !state.canTurnOn;
  $("welcome-push-next").hidden = state.canTurnOn;
}

function pushSays(text, kind) {
  $("welcome-push-status").textContent = text;
  $("welcome-push-status").className = `save-status ${kind || ""}`;
}

$("welcome-push-on").addEventListener("click", async () => {
  const button = $("welcome-push-on");
  button.disabled = true;
  try {
    await turnOn((text) => pushSays(text, "pending"));
    pushSays(t("Done: this phone will get your reminders."), "ok");
  } catch (error) {
    pushSays(error.message, "error");
    button.textContent = t("Try again");
  } finally {
    button.disabled = false;
  }
  await showPush();
});
$("welcome-push-next").addEventListener("click", () => next($("step-notify")));

// --- 3. the next infusion ----------------------------------------------------------------------------
const infusion = $("step-infusion");
infusion.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { date, time } = infusion.elements;
  const error = $("infusion-error");
  error.hidden = true;
  if (!date.value || !time.value) {
    error.textContent = t("Choose the date and time of the session, or skip this step.");
    error.hidden = false;
    return;
  }
  const id = uuid();
  await store.queue("infusion", id, "upsert", {
    scheduled_at: zonedInstant(date.value, time.value, zoneOf(account)),
    duration_minutes: 60,
    status: "planned",
  });
  $("infusion-status").textContent = t("Saved on this phone — will sync");
  await saved();
  const rec = await store.record("infusion", id);
  if (rec && rec.state === "rejected") {
    error.textContent = t("Not saved: {problem}", { problem: rec.problem });
    error.hidden = false;
    return;
  }
  next(infusion);
});

account = await ready();
if (account && account.display_name) $("welcome-name").textContent = `, ${account.display_name}`;
day.elements.timezone.value = deviceZone();
infusion.elements.date.min = localDay(new Date().toISOString(), zoneOf(account));
// The app just added to the Home Screen (iOS, static/js/push.js offerAfterInstall): straight to
// notifications, which work there now.
if (location.hash === "#notify") show($("step-notify"));
if (Intl.supportedValuesOf) {
  $("timezones").replaceChildren(...Intl.supportedValuesOf("timeZone").map((z) => new Option(z)));
}
