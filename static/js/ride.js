// The companion's page: the token after "#token=" (never sent in a URL), what the link asks,
// and one yes or no. No account, no app: only /api/v1/ride and /api/v1/ride/answer.
import { api, problemText } from "./app.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
if (location.hash) history.replaceState(null, "", location.pathname);

const closed = {
  answered: t("Thank you: your answer has been passed on."),
  expired: t("This link has expired: the appointment is over."),
  revoked: t("This link has been withdrawn; you do not need to do anything."),
  unknown: t("This link is not known. Check that you opened the whole link from the email."),
};

function show(text) {
  $("ride-question").textContent = text;
}

async function open() {
  if (!token) return show(closed.unknown);
  const result = await api("POST", "/api/v1/ride", { token });
  if (!result.ok) return show(problemText(result));
  const { state, question, answer } = result.data;
  if (state === "open") {
    show(question);
    $("ride-answer").hidden = false;
  } else if (state === "answered") {
    show(question);
    const said = answer === "yes" ? t("You answered yes.") : t("You answered no.");
    $("ride-done").textContent = `${said} ${closed.answered}`;
    $("ride-done").hidden = false;
  } else {
    show(closed[state] || closed.unknown);
  }
}

async function reply(answer) {
  $("ride-answer").hidden = true;
  const result = await api("POST", "/api/v1/ride/answer", { token, answer });
  if (result.ok) {
    $("ride-done").textContent = answer === "yes" ? t("Thank you: they will know you can.") : t("Thank you: they will know to ask someone else.");
    $("ride-done").hidden = false;
  } else {
    $("form-error").textContent = problemText(result);
    $("form-error").hidden = false;
  }
}

$("ride-yes").addEventListener("click", () => reply("yes"));
$("ride-no").addEventListener("click", () => reply("no"));
open();
