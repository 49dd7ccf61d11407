// Sign in and sign up: JSON to /api/v1/auth/* with the CSRF header, then into the app.
import { api, deviceZone, problemText, store } from "./app.js";

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

if (signup) signup.elements.timezone.value = deviceZone();
function notice(text) {
  const note = document.createElement("p");
  note.className = "notice";
  note.setAttribute("role", "status");
  note.textContent = text;
  form.before(note);
  return note;
}

const said = new URLSearchParams(location.search);
if (said.get("deleted")) notice("Your account and all its data have been erased.");
if (said.get("reset")) notice("Your password is changed. Sign in with the new one.");

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
        })
      : await api("POST", "/api/v1/auth/login", { email: fields.email.trim(), password: fields.password });
    if (!result.ok) {
      showError(problemText(result, "Could not sign in."));
      return;
    }
    if (result.status === 202) {
      // Email verification is on: the account is finished from the link in the email.
      form.hidden = true;
      notice(result.data.detail);
      return;
    }
    const me = result.data;
    if (me.role === "clinician") {
      location.replace("/clinician");
      return;
    }
    // A different person on this phone: their data never mixes with the last one's.
    await store.setAccount(me);
    location.replace(signup ? "/welcome" : nextPage("/"));
  } catch {
    showError("You are offline. Signing in needs a connection.");
  } finally {
    button.disabled = false;
  }
});

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
