// History: the chart comes from the server; the entries to edit or delete come from this phone
// (so entries still waiting to sync are here too). A questionnaire is final once stored: it can
// only be retracted, and only once the server has it (a retraction sent in its place would keep
// the answers from ever reaching the patient's clinicians).
import {
  checkinLines, dateLabel, onChange, ready, saved, sideEffectLabels, store, syncBadge, t,
  timeLabel, zoneOf,
} from "./app.js";

const list = document.getElementById("history-entries");
const labels = sideEffectLabels(list);
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
  const lines = [];
  if (rec.kind === "checkin") {
    head.textContent = t("{time} · mood {mood}", { time: label, mood: rec.data.mood });
    lines.push(...checkinLines(rec.data, labels));
  } else {
    const name = rec.data.instrument === "phq9" ? "PHQ-9" : "GAD-7";
    const total = rec.data.total ?? rec.data.answers.reduce((a, b) => a + b, 0);
    head.textContent = `${label} · ${name} ${total}`;
  }
  main.append(head, ...lines, syncBadge(rec));
  const actions = document.createElement("div");
  actions.className = "entry-actions";
  if (rec.kind === "checkin") {
    const edit = document.createElement("a");
    edit.className = "button button-quiet button-small";
    edit.href = `/?edit=${encodeURIComponent(rec.id)}`;
    edit.textContent = t("Edit");
    edit.setAttribute("aria-label", t("Edit the entry from {time}", { time: label }));
    actions.append(edit);
  }
  if (rec.kind === "checkin") {
    actions.append(removeButton(rec, t("Delete"), t("Delete the entry from {time}", { time: label }),
      t("Delete the entry from {time}? This cannot be undone.", { time: label })));
  } else if (rec.state === "synced") {
    actions.append(removeButton(rec, t("Retract"), t("Retract the entry from {time}", { time: label }),
      t("Retract the questionnaire from {time}? It leaves your history. Your answers cannot be changed, and anyone you share your log with still sees them, marked as retracted.", { time: label })));
  }
  li.append(main, actions);
  return li;
}

function removeButton(rec, action, description, question) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button-danger-quiet button-small";
  button.textContent = action;
  button.setAttribute("aria-label", description);
  button.addEventListener("click", async () => {
    if (!confirm(question)) return;
    await store.queue(rec.kind, rec.id, "delete", null);
    await saved();
  });
  return button;
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
onChange(() => render()); // before the first render: the first sync may end during it
await render();
