// PHQ-9 and GAD-7, one question a screen. PHQ-9 item 9 above 0 shows the crisis resources at
// once, decided here from the answer itself: no server round trip, works offline. PHQ-9 item 10
// (difficulty) sits under item 9 on the last screen: optional, sent beside the answers, unscored.
import { locale, ready, saved, store, t, uuid } from "./app.js";

const form = document.getElementById("assessment");
const questions = [...form.querySelectorAll(".question")];
const progress = document.getElementById("progress");
const progressText = document.getElementById("progress-text");
const back = document.getElementById("back");
const next = document.getElementById("next");
const crisis = document.getElementById("crisis-now");
const finalNote = document.getElementById("final-note");
const difficulty = document.getElementById("difficulty"); // PHQ-9 only
const instrument = form.dataset.instrument;
const safetyItem = Number(form.dataset.safetyItem);
const bands = JSON.parse(form.dataset.bands);
let current = 0;
let saving = false;

function answer(index) {
  const checked = questions[index].querySelector("input:checked");
  return checked ? Number(checked.value) : null;
}

function show(index) {
  current = index;
  questions.forEach((q, i) => { q.hidden = i !== index; });
  progress.value = index + 1;
  progressText.textContent = t("Question {n} of {total}", { n: index + 1, total: questions.length });
  back.disabled = index === 0;
  const last = index === questions.length - 1;
  next.textContent = last ? t("Finish") : t("Next");
  // Said before the answers are sent: a questionnaire is final once stored.
  finalNote.hidden = !last;
  if (difficulty) difficulty.hidden = !last;
  if (last) next.setAttribute("aria-describedby", "final-note");
  else next.removeAttribute("aria-describedby");
  next.disabled = answer(index) === null;
}

function showCrisis() {
  if (!crisis.hidden) return;
  crisis.hidden = false;
  crisis.setAttribute("role", "alert");
  crisis.focus();
  crisis.scrollIntoView({ block: "start" });
}

form.addEventListener("change", (event) => {
  const q = questions.indexOf(event.target.closest(".question"));
  if (q < 0) return;
  next.disabled = false;
  if (q === safetyItem && answer(q) > 0) showCrisis();
});

// A tap on an answer moves on; keyboard users (arrow keys change the choice) press Next.
form.addEventListener("click", (event) => {
  const option = event.target.closest(".option");
  if (!option || event.detail === 0) return;
  const q = questions.indexOf(option.closest(".question"));
  if (q !== current || q === questions.length - 1) return;
  if (q === safetyItem && answer(q) > 0) return; // stay with the help that just appeared
  setTimeout(() => { if (current === q && answer(q) !== null) show(q + 1); }, 150);
});

back.addEventListener("click", () => { if (current > 0) show(current - 1); });

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (answer(current) === null) return;
  if (current < questions.length - 1) {
    show(current + 1);
    questions[current].querySelector("legend").scrollIntoView({ block: "nearest" });
    return;
  }
  if (saving) return;
  saving = true;
  const answers = questions.map((_, i) => answer(i));
  const id = uuid();
  // The language the questions were shown in: the published version the answers are to.
  const content = { instrument, answers, taken_at: new Date().toISOString(), language: locale };
  const hard = difficulty && difficulty.querySelector("input:checked");
  if (hard) content.difficulty = Number(hard.value);
  try {
    await store.queue("assessment", id, "upsert", content);
  } catch {
    saving = false;
    document.getElementById("assessment-error").textContent = t("This phone could not store your answers. Please try again.");
    document.getElementById("assessment-error").hidden = false;
    return;
  }
  const total = answers.reduce((a, b) => a + b, 0);
  const band = bands.find((b) => b.min <= total && total <= b.max);
  form.hidden = true;
  const result = document.getElementById("result");
  document.getElementById("result-score").textContent = t("Your score: {total}", { total });
  document.getElementById("result-band").textContent = band ? t("{band} range.", { band: band.label }) : "";
  const sync = document.getElementById("result-sync");
  sync.textContent = t("Saved on this phone — will sync");
  sync.className = "save-status pending";
  result.hidden = false;
  if (crisis.hidden) result.focus();
  const state = await saved();
  const rec = await store.record("assessment", id);
  if (rec && rec.state === "synced") {
    sync.textContent = t("Saved and synced");
    sync.className = "save-status ok";
  } else if (rec && rec.state === "rejected") {
    sync.textContent = t("Not saved: {problem}", { problem: rec.problem });
    sync.className = "save-status";
  } else if (state.status === 401) {
    sync.textContent = t("Saved on this phone — sign in again to sync");
  }
});

show(0);
await ready();
