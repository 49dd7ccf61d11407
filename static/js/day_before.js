// The day before a session: the course ("session 3 of 6"), the checklist of the next session
// (the ride home, the clinic's instructions, a message), and the day after, "home safely?".
import { api, dateLabel, problemText, ready, timeLabel, zoneOf } from "./app.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const DAY = 24 * 3600 * 1000;
const KINDS = { induction: t("Induction"), maintenance: t("Maintenance"), reinduction: t("Re-induction") };
let account = null;
let sessionId = null;

function when(iso) {
  const zone = zoneOf(account);
  return `${dateLabel(iso, zone)}, ${timeLabel(iso, zone)}`;
}

async function sessions() {
  const result = await api("GET", "/api/v1/infusions?limit=100");
  return result.ok ? result.data.items : [];
}

function showCourse(course) {
  if (!course) return;
  $("course-card").hidden = false;
  const kind = KINDS[course.kind] || course.kind_label;
  $("course-progress").textContent = course.next_number
    ? t("{kind}: session {n} of {total} is next ({given} done).", { kind, n: course.next_number, total: course.total, given: course.given })
    : t("{kind}: {given} of {total} sessions done.", { kind, given: course.given, total: course.total });
  $("course-next").textContent = course.next_at ? t("Next: {when}", { when: when(course.next_at) }) : "";
}

function showChecklist(state) {
  const form = $("checklist-form");
  const list = state.checklist;
  const ride = list ? list.ride : "none";
  form.elements.ride.value = ride;
  $("companion-fields").hidden = ride !== "person";
  if (list && list.companion) {
    $("companion-name").value = list.companion.name;
    $("companion-email").value = list.companion.email;
  }
  $("companion-revoke").hidden = !(list && list.companion);
  $("ride-advice").textContent = state.advice || "";
  $("ride-advice").hidden = !state.advice;
  $("instructions").hidden = !state.instructions;
  $("instructions-text").textContent = state.instructions || "";
  form.elements.instructions_read.checked = Boolean(list && list.instructions_read);
  $("checklist-message").value = (list && list.message) || "";
  // The server writes the state in the reader's language, "ride: …" as the schedule shows it.
  const said = t("ride:") + " ";
  $("ride-state").textContent = state.ride_state.startsWith(said)
    ? t("Your ride:") + " " + state.ride_state.slice(said.length) : state.ride_state;
}

$("checklist-form").addEventListener("change", (event) => {
  if (event.target.name === "ride") $("companion-fields").hidden = event.target.value !== "person";
});

$("checklist-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { ride: form.elements.ride.value || "none", instructions_read: form.elements.instructions_read.checked };
  const message = $("checklist-message").value.trim();
  if (message) body.message = message;
  if (body.ride === "person") body.companion = { name: $("companion-name").value.trim(), email: $("companion-email").value.trim() };
  const result = await api("PUT", `/api/v1/infusions/${sessionId}/checklist`, body);
  $("checklist-error").hidden = result.ok;
  if (!result.ok) {
    $("checklist-error").textContent = problemText(result);
    return;
  }
  showChecklist(result.data);
});

$("companion-revoke").addEventListener("click", async () => {
  await api("DELETE", `/api/v1/infusions/${sessionId}/companion`);
  const result = await api("GET", `/api/v1/infusions/${sessionId}/checklist`);
  if (result.ok) showChecklist(result.data);
});

async function askHome(past) {
  const result = await api("GET", `/api/v1/infusions/${past.id}/checklist`);
  if (!result.ok || !result.data.checklist || result.data.checklist.home_safely !== null) return;
  $("home-card").hidden = false;
  const answer = async (home) => {
    const sent = await api("PUT", `/api/v1/infusions/${past.id}/home-safely`, { home });
    $("home-status").textContent = !sent.ok ? problemText(sent)
      : home ? t("Thank you. Rest well.") : t("If you feel unwell, call the clinic or use Need help now.");
  };
  $("home-yes").addEventListener("click", () => answer(true));
  $("home-no").addEventListener("click", () => answer(false));
}

account = await ready();
const course = await api("GET", "/api/v1/me/course");
showCourse(course.ok ? course.data : null);
const all = await sessions();
const now = Date.now();
const upcoming = all.filter((s) => s.status === "planned" && Date.parse(s.scheduled_at) > now)
  .sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at));
const recent = all.find((s) => s.status !== "cancelled" && Date.parse(s.scheduled_at) <= now
  && now - Date.parse(s.scheduled_at) < 2 * DAY);
if (recent) await askHome(recent);
if (upcoming.length) {
  sessionId = upcoming[0].id;
  $("checklist-when").textContent = when(upcoming[0].scheduled_at);
  $("checklist-card").hidden = false;
  const state = await api("GET", `/api/v1/infusions/${sessionId}/checklist`);
  if (state.ok) showChecklist(state.data);
} else {
  $("no-session").hidden = false;
}
