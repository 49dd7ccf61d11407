// Sign in and sign up: JSON to /api/v1/auth/* with the CSRF header, then into the app.
import { api, deviceZone, locale, problemText, store, t, tellWorkerLanguage } from "./app.js";
import { passkeysSupported, problem, signInWithPasskey } from "./webauthn.js";

const login = document.getElementById("login-form");
const signup = document.getElementById("signup-form");
const form = login || signup;
const errorBox = document.getElementById("form-error");

// Where to go after signing in: a page of this app, never another site. `next` is resolved the
// way the browser will resolve it, so `/\evil.example` or `/<tab>/evil.example` (which browsers
// read as `//evil.example`) show up as the other origin they are.
function nextPage(fallback) {
  const next = new URLSearchParams(location.search).get("next");
  if (!next || !next.startsWith("/")) return fallback;
  let url;
  try {
    url = new URL(next, location.origin);
  } catch {
    return fallback;
  }
  if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return fallback;
  return url.pathname + url.search + url.hash;
}

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
  if (text) errorBox.focus?.();
}

if (signup) {
  signup.elements.timezone.value = deviceZone();
  // The page in the language chosen, before anything is typed.
  signup.elements.language.addEventListener("change", (event) => {
    location.replace(`/signup?lang=${encodeURIComponent(event.target.value)}`);
  });
}
function notice(text) {
  const note = document.createElement("p");
  note.className = "notice";
  note.setAttribute("role", "status");
  note.textContent = text;
  form.before(note);
  return note;
}

const said = new URLSearchParams(location.search);
if (said.get("deleted")) notice(t("Your account and all its data have been erased."));
if (said.get("reset")) notice(t("Your password is changed. Sign in with the new one."));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  const fields = Object.fromEntries(new FormData(form));
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const result = signup
      ? await api("POST", "/api/v1/auth/register", {
          email: fields.email.trim(), password: fields.password,
          display_name: fields.display_name.trim(), timezone: fields.timezone || "UTC",
          language: fields.language || locale,
        })
      : await api("POST", "/api/v1/auth/login", { email: fields.email.trim(), password: fields.password });
    if (!result.ok) {
      showError(problemText(result, t("Could not sign in.")));
      return;
    }
    if (result.status === 202) {
      // Email verification is on: the account is finished from the link in the email.
      form.hidden = true;
      notice(result.data.detail);
      return;
    }
    if (result.data && result.data.mfa_required) {
      showCodeStep();
      return;
    }
    await enter(result.data);
  } catch {
    showError(t("You are offline. Signing in needs a connection."));
  } finally {
    button.disabled = false;
  }
});

async function enter(me) {
  if (me.role === "clinician") {
    // A clinician who must set up a second factor first is sent on to /mfa/setup from there.
    location.replace("/clinician");
    return;
  }
  // A different person on this phone: their data never mixes with the last one's.
  await store.setAccount(me);
  if (signup) await tellWorkerLanguage(me.language);
  // A clinic's invitation sends a new patient here with next=/join, and back to its consent.
  location.replace(nextPage(signup ? "/welcome" : "/"));
}

// --- the second step: a code from the authenticator app, or a recovery code ------------------
const codeForm = document.getElementById("code-form");
const codeError = document.getElementById("code-error");

function showCodeStep() {
  form.hidden = true;
  codeForm.hidden = false;
  codeForm.elements.code.focus();
}

function showCodeError(text) {
  codeError.textContent = text;
  codeError.hidden = !text;
}

if (codeForm) {
  if (!codeForm.hidden) codeForm.elements.code.focus();
  codeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showCodeError("");
    const button = codeForm.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const result = await api("POST", "/api/v1/auth/mfa/verify", { code: codeForm.elements.code.value.trim() });
      if (!result.ok) {
        codeForm.elements.code.value = "";
        showCodeError(problemText(result, t("That code did not work.")));
        if (result.status === 401 && !(result.data && result.data.field)) {
          // The waiting sign-in ended (ten minutes): back to the password.
          codeForm.hidden = true;
          form.hidden = false;
          showError(problemText(result));
        }
        return;
      }
      await enter(result.data);
    } catch {
      showCodeError(t("You are offline. Signing in needs a connection."));
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById("code-cancel").addEventListener("click", async () => {
    await api("POST", "/api/v1/auth/logout").catch(() => null);
    codeForm.hidden = true;
    form.hidden = false;
    showCodeError("");
  });
}

// --- a passkey instead of the password, or of the code (static/js/webauthn.js) ----------------
for (const button of document.querySelectorAll("[data-passkey-sign-in]")) {
  button.hidden = !passkeysSupported();
  button.addEventListener("click", async () => {
    const say = button.closest("form") === codeForm ? showCodeError : showError;
    say("");
    button.disabled = true;
    try {
      const result = await signInWithPasskey();
      if (result.ok) await enter(result.data);
      else say(problem(result, t("Could not sign in with a passkey.")));
    } catch {
      say(t("You are offline. Signing in needs a connection."));
    } finally {
      button.disabled = false;
    }
  });
}

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);

// --- the one-time link mailed after too many wrong passwords: /login#token=… ------------------
// The token comes after "#", so it never reaches a server in a URL; it leaves the address bar
// and the history at once. It stands in for the password: a second factor is still asked for.
const linkToken = login && new URLSearchParams(location.hash.slice(1)).get("token");
if (linkToken) {
  history.replaceState(null, "", location.pathname + location.search);
  try {
    const result = await api("POST", "/api/v1/auth/login/link", { token: linkToken });
    if (!result.ok) showError(problemText(result, t("This link did not work.")));
    else if (result.data && result.data.mfa_required) showCodeStep();
    else await enter(result.data);
  } catch {
    showError(t("You are offline. Open the link again when you have a connection."));
  }
}
