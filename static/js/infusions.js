// Infusion sessions: upcoming and past, add, move and cancel. Changes go through the outbox.
import {
  api, dateLabel, localDay, onChange, ready, saved, store, t, timeLabel, uuid, zonedInstant, zoneOf,
} from "./app.js";

const form = document.getElementById("infusion-form");
const status = document.getElementById("infusion-status");
const errorBox = document.getElementById("infusion-error");
const saveButton = document.getElementById("infusion-save");
const cancelEdit = document.getElementById("infusion-cancel-edit");
let account = null;
let editing = null;
// Who made the change that stands, when it was not the patient (clinic staff): infusion id → name.
let changedBy = new Map();

function setStatus(text, kind) {
  status.textContent = text;
  status.className = `save-status ${kind || ""}`;
}

function localParts(iso, zone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit",
  }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type).value;
  return { day: `${get("year")}-${get("month")}-${get("day")}`, time: `${get("hour")}:${get("minute")}` };
}

async function change(rec, data, message) {
  const id = rec ? rec.id : uuid();
  await store.queue("infusion", id, "upsert", data);
  setStatus(t("{message} — saved on this phone, will sync", { message }), "pending");
  await render();
  await saved();
  const now = await store.record("infusion", id);
  if (now && now.state === "synced") setStatus(t("{message} and synced", { message }), "ok");
  else if (now && now.state === "rejected") setStatus(t("Not saved: {problem}", { problem: now.problem }), "");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const day = form.elements.date.value;
  const time = form.elements.time.value;
  const duration = Number(form.elements.duration_minutes.value);
  if (!day || !time) {
    errorBox.textContent = t("Choose the date and time of the session.");
    errorBox.hidden = false;
    return;
  }
  if (!(duration >= 10 && duration <= 240)) {
    errorBox.textContent = t("The length is between 10 and 240 minutes.");
    errorBox.hidden = false;
    return;
  }
  errorBox.hidden = true;
  const data = {
    scheduled_at: zonedInstant(day, time, zoneOf(account)),
    duration_minutes: duration,
    status: editing ? editing.data.status : "planned",
  };
  const notes = form.elements.notes.value.trim();
  if (notes) data.notes = notes;
  const rec = editing;
  stopEditing();
  await change(rec, data, rec ? t("Session moved") : t("Session added"));
});

function startEditing(rec) {
  editing = rec;
  const { day, time } = localParts(rec.data.scheduled_at, zoneOf(account));
  form.elements.date.value = day;
  form.elements.time.value = time;
  form.elements.duration_minutes.value = rec.data.duration_minutes;
  form.elements.notes.value = rec.data.notes || "";
  document.getElementById("add-title").textContent = "Move a session";
  saveButton.textContent = t("Save new time");
  cancelEdit.hidden = false;
  form.elements.date.focus();
}

/** A new session starts on today's date (the patient's day), the time at its default. */
function startOnToday() {
  form.elements.date.value = localDay(new Date().toISOString(), zoneOf(account));
}

function stopEditing() {
  editing = null;
  form.reset();
  startOnToday();
  document.getElementById("add-title").textContent = "Add a session";
  saveButton.textContent = t("Add session");
  cancelEdit.hidden = true;
}
cancelEdit.addEventListener("click", stopEditing);

function button(text, label, onClick, extra) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `button button-small ${extra || "button-quiet"}`;
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function item(rec, zone, upcoming) {
  const li = document.createElement("li");
  li.className = "entry";
  const main = document.createElement("div");
  main.className = "entry-main";
  const head = document.createElement("div");
  head.className = "entry-title";
  const when = `${dateLabel(rec.data.scheduled_at, zone)}, ${timeLabel(rec.data.scheduled_at, zone)}`;
  head.textContent = when;
  const detail = document.createElement("div");
  detail.className = "entry-detail";
  const state = {
    planned: upcoming ? t("planned") : t("planned (not marked done)"), completed: t("done"), cancelled: t("cancelled"),
  };
  const minutes = t("{minutes} min", { minutes: rec.data.duration_minutes });
  detail.textContent = minutes + ` · ${state[rec.data.status] || rec.data.status}` +
    (rec.data.notes ? ` · ${rec.data.notes}` : "");
  main.append(head, detail);
  if (changedBy.has(rec.id) && rec.state !== "pending") {
    const who = document.createElement("div");
    who.className = "entry-detail changed-by";
    who.textContent = t("Changed by {name}", { name: changedBy.get(rec.id) });
    main.append(who);
  }
  const badge = document.createElement("span");
  badge.className = `badge ${rec.state === "pending" ? "pending" : rec.state === "rejected" ? "rejected" : "ok"}`;
  badge.textContent = rec.state === "pending" ? t("Saved on this phone — will sync")
    : rec.state === "rejected" ? t("Not saved: {problem}", { problem: rec.problem }) : t("Synced");
  main.append(badge);
  const actions = document.createElement("div");
  actions.className = "entry-actions";
  if (rec.data.status === "planned") {
    actions.append(button(t("Move"), t("Move the session on {when}", { when }), () => startEditing(rec)));
    if (!upcoming) {
      actions.append(button(t("Mark done"), t("Mark the session on {when} as done", { when }),
        () => change(rec, { ...rec.data, status: "completed" }, t("Marked as done"))));
    }
    actions.append(button(t("Cancel"), t("Cancel the session on {when}", { when }), () => {
      if (confirm(t("Cancel the session on {when}? Its reminders will stop.", { when }))) {
        change(rec, { ...rec.data, status: "cancelled" }, t("Session cancelled"));
      }
    }, "button-danger-quiet"));
  }
  li.append(main, actions);
  return li;
}

async function loadChanges() {
  try {
    const result = await api("GET", "/api/v1/me/infusion-changes");
    if (result.ok) changedBy = new Map(result.data.map((c) => [c.infusion_id, c.changed_by]));
  } catch {
    // Offline: the sessions show from this phone, without who changed them.
  }
}

async function render() {
  const zone = zoneOf(account);
  const now = Date.now();
  const all = (await store.records("infusion")).filter((r) => r.data)
    .sort((a, b) => a.data.scheduled_at.localeCompare(b.data.scheduled_at));
  const upcoming = all.filter((r) => r.data.status === "planned" && new Date(r.data.scheduled_at).getTime() >= now);
  const past = all.filter((r) => !upcoming.includes(r)).reverse();
  document.getElementById("upcoming").replaceChildren(...upcoming.map((r) => item(r, zone, true)));
  document.getElementById("past").replaceChildren(...past.map((r) => item(r, zone, false)));
  document.getElementById("no-upcoming").hidden = upcoming.length > 0;
  document.getElementById("no-past").hidden = past.length > 0;
}

account = await ready();
startOnToday();
onChange(() => loadChanges().then(render)); // before the first render: the first sync may end during it
await loadChanges();
await render();
