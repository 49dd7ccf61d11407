// History: the chart comes from the server; the entries to edit or delete come from this phone
// (so entries still waiting to sync are here too).
import { dateLabel, onChange, ready, saved, store, syncBadge, timeLabel, zoneOf } from "./app.js";

const list = document.getElementById("history-entries");
let account = null;

function entry(rec, zone) {
  const li = document.createElement("li");
  li.className = "entry";
  const main = document.createElement("div");
  main.className = "entry-main";
  const head = document.createElement("div");
  head.className = "entry-title";
  const when = rec.kind === "checkin" ? rec.data.recorded_at : rec.data.taken_at;
  const label = `${dateLabel(when, zone)}, ${timeLabel(when, zone)}`;
  if (rec.kind === "checkin") {
    head.textContent = `${label} · mood ${rec.data.mood}`;
  } else {
    const name = rec.data.instrument === "phq9" ? "PHQ-9" : "GAD-7";
    const total = rec.data.total ?? rec.data.answers.reduce((a, b) => a + b, 0);
    head.textContent = `${label} · ${name} ${total}`;
  }
  main.append(head, syncBadge(rec));
  const actions = document.createElement("div");
  actions.className = "entry-actions";
  if (rec.kind === "checkin") {
    const edit = document.createElement("a");
    edit.className = "button button-quiet button-small";
    edit.href = `/?edit=${encodeURIComponent(rec.id)}`;
    edit.textContent = "Edit";
    edit.setAttribute("aria-label", `Edit the entry from ${label}`);
    actions.append(edit);
  }
  const del = document.createElement("button");
  del.type = "button";
  del.className = "button button-danger-quiet button-small";
  del.textContent = "Delete";
  del.setAttribute("aria-label", `Delete the entry from ${label}`);
  del.addEventListener("click", async () => {
    if (!confirm(`Delete the entry from ${label}? This cannot be undone.`)) return;
    await store.queue(rec.kind, rec.id, "delete", null);
    await saved();
  });
  actions.append(del);
  li.append(main, actions);
  return li;
}

async function render() {
  const zone = zoneOf(account);
  const records = [...await store.records("checkin"), ...await store.records("assessment")]
    .filter((r) => r.data)
    .map((r) => ({ r, when: r.kind === "checkin" ? r.data.recorded_at : r.data.taken_at }))
    .sort((a, b) => b.when.localeCompare(a.when))
    .slice(0, 200)
    .map(({ r }) => r);
  list.replaceChildren(...records.map((r) => entry(r, zone)));
  document.getElementById("no-history").hidden = records.length > 0;
}

account = await ready();
await render();
onChange(() => render());
