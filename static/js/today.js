// Today: the day at a glance, a check-in in a few taps (mood first, always: after an infusion the
// usual side effects lead their list), "done for today" once logged, and this day's entries.
import {
  api, checkinLines, dateLabel, locale, localDay, onChange, ready, saved, shiftDay, store, syncBadge, t,
  timeLabel, uuid, zoneOf,
} from "./app.js";
import { offerAfterInstall, reportOpened } from "./push.js";

const form = document.getElementById("checkin");
const status = document.getElementById("save-status");
const list = document.getElementById("today-entries");
const empty = document.getElementById("no-entries");
const errorBox = document.getElementById("checkin-error");
const title = document.getElementById("page-title");
const done = document.getElementById("done");
const crisis = document.getElementById("crisis-now");
const LABELS = Object.fromEntries(
  [...form.querySelectorAll(".chip")].map((chip) => [chip.dataset.code, chip.querySelector("label").textContent]),
);
// Instants from the server and from this phone may carry different offsets: compare as times.
const byTime = (a, b) => new Date(a) - new Date(b);
let account = null;
let editing = null; // the record being edited, if any
// The form is open although today is logged: "Add another", or a reminder asked for a check-in.
let adding = new URLSearchParams(location.search).has("checkin");

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

function setStatus(text, kind) {
  status.textContent = text;
  status.className = `save-status ${kind || ""}`;
}

// Side-effect chips: tapping one selects it as mild; the severity choice appears under it.
form.addEventListener("change", (event) => {
  const input = event.target;
  if (input.name === "effect") {
    const chip = input.closest(".chip");
    chip.classList.toggle("selected", input.checked);
    chip.querySelector(".severity").hidden = !input.checked;
    if (input.value === "other") document.getElementById("other-effect").hidden = !input.checked;
  }
  if (input.name === "mood") showError("");
});

function readForm() {
  const data = new FormData(form);
  const mood = data.get("mood");
  if (mood === null) return null;
  const effects = data.getAll("effect").map((code) => {
    const effect = { code, severity: Number(data.get(`severity-${code}`) || 1) };
    const text = code === "other" ? String(data.get("other_text") || "").trim() : "";
    if (text) effect.text = text;
    return effect;
  });
  const checkin = {
    recorded_at: editing ? editing.data.recorded_at : new Date().toISOString(),
    mood: Number(mood),
    side_effects: effects,
  };
  for (const name of ["anxiety", "energy"]) {
    const value = data.get(name);
    if (value !== "" && value !== null) checkin[name] = Number(value);
  }
  const sleep = data.get("sleep_hours");
  if (sleep !== "" && sleep !== null) checkin.sleep_hours = Math.round(Number(sleep) * 2) / 2;
  const note = String(data.get("note") || "").trim();
  if (note) checkin.note = note;
  return checkin;
}

function resetForm() {
  form.reset();
  for (const chip of form.querySelectorAll(".chip")) {
    chip.classList.remove("selected");
    chip.querySelector(".severity").hidden = true;
  }
  document.getElementById("other-effect").hidden = true;
  form.querySelector("details.more").open = false;
}

function fillForm(data) {
  resetForm();
  form.querySelector(`input[name="mood"][value="${data.mood}"]`).checked = true;
  for (const effect of data.side_effects || []) {
    const box = form.querySelector(`input[name="effect"][value="${effect.code}"]`);
    if (!box) continue;
    box.checked = true;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    const severity = form.querySelector(`input[name="severity-${effect.code}"][value="${effect.severity}"]`);
    if (severity) severity.checked = true;
    if (effect.code === "other" && effect.text) form.elements.other_text.value = effect.text;
  }
  const more = ["anxiety", "energy", "sleep_hours", "note"].filter((k) => data[k] !== null && data[k] !== undefined);
  for (const key of more) form.elements[key].value = data[key];
  form.querySelector("details.more").open = more.length > 0;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const checkin = readForm();
  if (!checkin) {
    showError(t("Choose a mood from 0 to 10 first."));
    form.querySelector('input[name="mood"]').focus();
    return;
  }
  showError("");
  const id = editing ? editing.id : uuid();
  try {
    await store.queue("checkin", id, "upsert", checkin);
  } catch {
    showError(t("This phone could not store the entry. Please try again."));
    return;
  }
  setStatus(t("Saved on this phone — will sync"), "pending");
  leaveEdit();
  resetForm();
  adding = false;
  await render();
  if (crisis.hidden) showDone();
  else showCrisis();
  const state = await saved();
  const rec = await store.record("checkin", id);
  if (rec && rec.state === "synced") setStatus(t("Saved and synced"), "ok");
  else if (rec && rec.state === "rejected") setStatus(t("Not saved: {problem}", { problem: rec.problem }), "");
  else if (state.status === 401) setStatus(t("Saved on this phone — sign in again to sync"), "pending");
});

/** A very low mood just logged: the crisis resources come first, where the eye and a screen
 * reader go. */
function showCrisis() {
  crisis.setAttribute("role", "alert");
  window.scrollTo({ top: 0 });
  crisis.focus({ preventScroll: true });
}

/** After a save the confirmation is where the eye is: the top of the page, with the status
 * line and "Done for today" in view. */
function showDone() {
  window.scrollTo({ top: 0 });
  if (!done.hidden) document.getElementById("done-title").focus({ preventScroll: true });
}

function enterEdit(rec) {
  editing = rec;
  fillForm(rec.data);
  title.textContent = t("Edit entry from {time}", { time: timeLabel(rec.data.recorded_at, zoneOf(account)) });
  document.getElementById("save").textContent = t("Save changes");
  document.getElementById("cancel-edit").hidden = false;
  document.getElementById("delete-entry").hidden = false;
  setStatus("");
  showForm(true);
  // The form is at the top of the page: bring it, with the entry's mood, into view from the
  // list of today's entries below it.
  window.scrollTo({ top: 0 });
  title.focus({ preventScroll: true });
}

function leaveEdit() {
  editing = null;
  title.textContent = t("How are you today?");
  document.getElementById("save").textContent = t("Save check-in");
  document.getElementById("cancel-edit").hidden = true;
  document.getElementById("delete-entry").hidden = true;
  if (location.search) history.replaceState(null, "", "/");
}

document.getElementById("cancel-edit").addEventListener("click", () => {
  leaveEdit();
  resetForm();
  render();
});

document.getElementById("add-another").addEventListener("click", () => {
  adding = true;
  setStatus("");
  showForm(true);
  form.querySelector('input[name="mood"]').focus();
});

/** The check-in form, or "Done for today" once something is logged today. */
function showForm(open) {
  form.hidden = !open;
  done.hidden = open;
}

document.getElementById("delete-entry").addEventListener("click", async () => {
  if (!editing || !confirm(t("Delete this entry? This cannot be undone."))) return;
  const id = editing.id;
  await store.queue("checkin", id, "delete", null);
  leaveEdit();
  resetForm();
  setStatus(t("Deleted on this phone — will sync"), "pending");
  await render();
  showDone();
  await saved();
  setStatus(t("Deleted"), "ok");
});

async function render() {
  const zone = zoneOf(account);
  const today = localDay(new Date().toISOString(), zone);
  const checkins = (await store.records("checkin"))
    .filter((r) => r.data && localDay(r.data.recorded_at, zone) === today)
    .sort((a, b) => b.data.recorded_at.localeCompare(a.data.recorded_at));
  list.replaceChildren(
    ...checkins.map((rec) => {
      const li = document.createElement("li");
      li.className = "entry";
      li.dataset.id = rec.id;
      const main = document.createElement("div");
      main.className = "entry-main";
      const head = document.createElement("div");
      head.className = "entry-title";
      head.textContent = t("{time} · mood {mood}", { time: timeLabel(rec.data.recorded_at, zone), mood: rec.data.mood });
      main.append(head, ...checkinLines(rec.data, LABELS), syncBadge(rec));
      const edit = document.createElement("button");
      edit.type = "button";
      edit.className = "button button-quiet button-small";
      edit.textContent = t("Edit");
      edit.setAttribute("aria-label", t("Edit the {time} entry", { time: timeLabel(rec.data.recorded_at, zone) }));
      edit.addEventListener("click", () => enterEdit(rec));
      li.append(main, edit);
      return li;
    }),
  );
  empty.hidden = checkins.length > 0;
  // A mood already chosen keeps the form open (an entry from another device just arrived).
  const composing = new FormData(form).get("mood") !== null;
  if (checkins.length && !editing && !adding && !composing) {
    const latest = checkins[0].data;
    document.getElementById("done-detail").textContent = checkins.length === 1
      ? t("You checked in at {time}, mood {mood}.", { time: timeLabel(latest.recorded_at, zone), mood: latest.mood })
      : t("You checked in {count} times today, last at {time}, mood {mood}.",
        { count: checkins.length, time: timeLabel(latest.recorded_at, zone), mood: latest.mood });
    showForm(false);
  } else {
    showForm(true);
  }
  await offerCrisis(zone, today);
  await offerPostInfusion(zone, today);
  await showWeek(zone, today);
}

/** The crisis resources (as for PHQ-9 item 9) while today's latest check-in has mood 0, or it
 * and the one before were 0–1: decided on this phone (store.js ``lowMood``), offline too. */
async function offerCrisis(zone, today) {
  const checkins = await store.records("checkin");
  const latest = checkins
    .filter((r) => r.data)
    .map((r) => r.data.recorded_at)
    .sort(byTime)
    .pop();
  crisis.hidden = !(latest && localDay(latest, zone) === today && store.lowMood(checkins));
  if (crisis.hidden) crisis.removeAttribute("role");
}

/** The day at a glance: the date, the next infusion, this week's PHQ-9 (from this phone). */
async function showWeek(zone, today) {
  const now = new Date();
  document.getElementById("today-date").textContent = new Intl.DateTimeFormat(locale, {
    timeZone: zone, weekday: "long", month: "long", day: "numeric",
  }).format(now);

  const next = (await store.records("infusion"))
    .filter((r) => r.data && r.data.status === "planned" && new Date(r.data.scheduled_at) >= now)
    .map((r) => r.data.scheduled_at)
    .sort(byTime)[0];
  const infusion = document.getElementById("next-infusion");
  const link = document.createElement("a");
  link.href = "/infusions";
  if (next) {
    const day = localDay(next, zone);
    const when = day === today ? t("today") : day === shiftDay(today, 1) ? t("tomorrow") : dateLabel(next, zone);
    link.textContent = `${when}, ${timeLabel(next, zone)}`;
  } else {
    link.textContent = t("none planned");
  }
  infusion.replaceChildren(t("Next infusion:") + " ", link);

  // "This week" is the last seven days, the rhythm of the weekly reminder.
  const last = (await store.records("assessment"))
    .filter((r) => r.data && r.data.instrument === "phq9")
    .map((r) => r.data.taken_at)
    .sort(byTime)
    .pop();
  const phq9 = document.getElementById("phq9-state");
  const lastDay = last && localDay(last, zone);
  if (lastDay && lastDay > shiftDay(today, -7)) {
    phq9.replaceChildren(lastDay === today
      ? t("This week’s PHQ-9: done today ✓")
      : t("This week’s PHQ-9: done on {date} ✓", { date: dateLabel(last, zone) }));
    phq9.className = "glance-done";
  } else {
    const answer = document.createElement("a");
    answer.href = "/assess/phq9";
    answer.textContent = t("answer it now");
    const due = lastDay
      ? t("This week’s PHQ-9 is due (last on {date}):", { date: dateLabel(last, zone) })
      : t("This week’s PHQ-9 is due:");
    phq9.replaceChildren(`${due} `, answer);
    phq9.className = "";
  }
}

/** The day after an infusion (or the evening of it): a word about it, and the side effects
 * that usually follow one lead their list. Mood stays first, in view above Save. */
async function offerPostInfusion(zone, today) {
  const yesterday = shiftDay(today, -1);
  const now = Date.now();
  const infusions = (await store.records("infusion")).filter((r) => {
    if (!r.data || r.data.status === "cancelled") return false;
    const day = localDay(r.data.scheduled_at, zone);
    const ended = new Date(r.data.scheduled_at).getTime() + (r.data.duration_minutes || 60) * 60000;
    return day === yesterday || (day === today && ended <= now);
  });
  const after = infusions.length > 0;
  const banner = document.getElementById("post-infusion");
  banner.hidden = !after;
  form.classList.toggle("post-infusion-first", after);
  if (after) {
    const latest = infusions.map((r) => r.data.scheduled_at).sort(byTime).pop();
    banner.querySelector("h2").textContent =
      localDay(latest, zone) === today ? t("After today’s session") : t("After your session on {date}", { date: dateLabel(latest, zone) });
  }
}

/** In a course of treatment: "session 3 of 6" and when the next one is (GET /me/course). */
async function showCourse(zone) {
  let result;
  try {
    result = await api("GET", "/api/v1/me/course");
  } catch {
    return; // offline: Today works without it
  }
  const course = result.ok ? result.data : null;
  const card = document.getElementById("course");
  card.hidden = !course;
  if (!course) return;
  document.getElementById("course-progress").textContent = course.next_number
    ? t("{plan}: session {number} of {total} is next ({given} done).", {
      plan: course.kind_label, number: course.next_number, total: course.total, given: course.given,
    })
    : t("{plan}: {given} of {total} sessions done.", {
      plan: course.kind_label, given: course.given, total: course.total,
    });
  document.getElementById("course-next").textContent = course.next_at
    ? t("Next: {date}, {time}", { date: dateLabel(course.next_at, zone), time: timeLabel(course.next_at, zone) })
    : "";
}

// Reminder links name their reminder (`r=`, reported as "opened", then dropped from the URL);
// the weekly questionnaire and session reminders open their own pages.
await reportOpened();
await offerAfterInstall();
const jump = { "?questionnaire": "/assess/phq9", "?sessions": "/infusions" }[location.search];
if (jump) location.replace(jump);

account = await ready();
const editId = new URLSearchParams(location.search).get("edit");
if (editId) {
  const rec = await store.record("checkin", editId);
  if (rec && !rec.deleted && rec.data) enterEdit(rec);
}
// Listen before the first render: the first sync starts with ready() and may finish while
// render() is still reading, and a change heard by nobody would leave Today stale.
onChange(() => render());
await render();
await showCourse(zoneOf(account));
// Opened from the daily reminder (where the phone shows no buttons on notifications): the mood
// scale has the focus, one tap from a check-in.
if (adding && !form.hidden) form.querySelector('input[name="mood"]').focus();
