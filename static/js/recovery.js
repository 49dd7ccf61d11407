// Getting in through email: ask for a reset link (/forgot), choose a new password with it
// (/reset), confirm an address (/verify). A link's token comes after "#", so it never reaches a
// server in a URL; it is read here, taken out of the address bar and history, and posted.
import { api, problemText, t } from "./app.js";

const $ = (id) => document.getElementById(id);

function showError(text) {
  const box = $("form-error");
  box.textContent = text || "";
  box.hidden = !text;
}

function done(form, text) {
  form.hidden = true;
  $("form-done").textContent = text;
  $("form-done").hidden = false;
}

/** The token after "#token=", removed from the address bar so it is not kept in history. */
function takeToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (location.hash) history.replaceState(null, "", location.pathname);
  return token;
}

async function submitting(form, work) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  showError("");
  try {
    await work(Object.fromEntries(new FormData(form)));
  } catch {
    showError(t("You are offline. This needs a connection."));
  } finally {
    button.disabled = false;
  }
}

const forgot = $("forgot-form");
if (forgot) {
  forgot.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(forgot, async (fields) => {
      const result = await api("POST", "/api/v1/auth/password-reset", { email: fields.email.trim() });
      if (result.ok) done(forgot, result.data.detail);
      else showError(problemText(result));
    });
  });
}

const reset = $("reset-form");
if (reset) {
  const token = takeToken();
  if (!token) showError(t("This page needs the link from the email. Ask for a new one if you lost it."));
  reset.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(reset, async (fields) => {
      const result = await api("POST", "/api/v1/auth/password-reset/confirm", {
        token: token || "", password: fields.password,
      });
      if (result.ok) location.replace("/login?reset=1");
      else showError(problemText(result));
    });
  });
}

const state = $("verify-state");
if (state) {
  const token = takeToken();
  try {
    if (!token) throw new Error("no token");
    const result = await api("POST", "/api/v1/auth/verify", { token });
    state.textContent = result.ok ? t("Your email address is confirmed. You can sign in now.") : "";
    if (!result.ok) showError(problemText(result));
  } catch {
    state.textContent = "";
    showError(token
      ? t("You are offline. Open the link again when you have a connection.")
      : t("This page needs the link from the email."));
  }
}
