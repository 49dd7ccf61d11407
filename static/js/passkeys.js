// The account's passkeys (the "Passkeys" section of Settings, and the clinician's /passkeys page):
// list them, add one on this device, remove one. Adding and removing ask for a recent proof of
// who you are: the server says so (403 reauthentication-required), and the section asks for the
// password (or a passkey) before it tries again.
import { t } from "./i18n.js";
import { addPasskey, call, passkeysSupported, problem, reauthenticateWithPasskey } from "./webauthn.js";

const $ = (id) => document.getElementById(id);
const section = $("passkeys");

function say(text, ok) {
  const status = $("passkey-status");
  status.textContent = text || "";
  status.className = `save-status ${ok ? "ok" : ""}`;
}

function fail(text) {
  $("passkey-error").textContent = text || "";
  $("passkey-error").hidden = !text;
}

const day = (iso) => new Intl.DateTimeFormat(document.documentElement.lang || undefined, { year: "numeric", month: "short", day: "numeric" }).format(new Date(iso));
let mine = [];

async function show() {
  const listed = await call("GET", "/api/v1/me/passkeys").catch(() => null);
  if (!listed || !listed.ok) return;
  mine = listed.data;
  $("passkeys-none").hidden = mine.length > 0;
  $("passkey-list").replaceChildren(...mine.map((passkey) => {
    const item = document.createElement("li");
    item.className = "passkey";
    const label = document.createElement("span");
    const added = day(passkey.created_at);
    label.textContent = (passkey.last_used_at
      ? t("{name} (added {added}, last used {used})", { name: passkey.name, added, used: day(passkey.last_used_at) })
      : t("{name} (added {added})", { name: passkey.name, added })) + " ";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button button-quiet button-small";
    remove.textContent = t("Remove");
    remove.setAttribute("aria-label", t("Remove the passkey {name}", { name: passkey.name }));
    remove.addEventListener("click", () => attempt(() => call("DELETE", `/api/v1/me/passkeys/${passkey.id}`), t("Passkey removed.")));
    item.append(label, remove);
    return item;
  }));
}

// --- a step that may ask for a proof of who you are first -------------------------------------
let retry = null;

function needsProof(result) {
  return result.status === 403 && String(result.data && result.data.type).endsWith("reauthentication-required");
}

async function attempt(step, done) {
  fail("");
  say("");
  try {
    const result = await step();
    if (needsProof(result)) {
      retry = { step, done };
      $("passkey-proof").hidden = false;
      $("passkey-proof-passkey").hidden = mine.length === 0;
      $("passkey-password").focus();
      return;
    }
    if (!result.ok) {
      fail(problem(result));
      return;
    }
    $("passkey-form").reset();
    say(done, true);
    await show();
  } catch {
    fail(t("You are offline. Passkeys need a connection."));
  }
}

async function proved(result) {
  if (!result.ok) {
    fail(problem(result));
    return;
  }
  $("passkey-proof").reset();
  $("passkey-proof").hidden = true;
  const { step, done } = retry;
  retry = null;
  await attempt(step, done);
}

if (section) {
  if (!passkeysSupported()) {
    $("passkeys-unsupported").hidden = false;
    $("passkey-form").hidden = true;
  }
  $("passkey-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(() => addPasskey($("passkey-name").value.trim()), t("Passkey added. You can sign in with it now."));
  });
  $("passkey-proof").addEventListener("submit", async (event) => {
    event.preventDefault();
    fail("");
    try {
      await proved(await call("POST", "/api/v1/auth/reauthenticate", { password: $("passkey-password").value }));
    } catch {
      fail(t("You are offline. Passkeys need a connection."));
    }
  });
  $("passkey-proof-passkey").addEventListener("click", async () => {
    fail("");
    await proved(await reauthenticateWithPasskey());
  });
  $("passkey-proof-cancel").addEventListener("click", () => {
    retry = null;
    $("passkey-proof").reset();
    $("passkey-proof").hidden = true;
  });
  show();
}
