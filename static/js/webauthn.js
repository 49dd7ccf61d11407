// Passkeys in the browser: the two WebAuthn ceremonies against our API, for every page that has
// a passkey button (sign-in, Settings, the clinician's passkey page). No dependency on the patient
// app (app.js), so the clinician's pages can use it too.
//
// Each ceremony asks the server for its options (…/options: py_webauthn's JSON, base64url
// fields), hands them to navigator.credentials, and posts the answer back, base64url-encoded.
import { t } from "./i18n.js";

function csrfCookie() {
  // `__Host-csrftoken` over HTTPS, `csrftoken` over plain http (server/security.py).
  for (const name of ["__Host-csrftoken", "csrftoken"]) {
    const match = document.cookie.match(new RegExp(`(?:^|;\\s*)${name}=([^;]+)`));
    if (match) return decodeURIComponent(match[1]);
  }
  return "";
}

/** fetch JSON with the CSRF header; resolves {ok, status, data}, throws only when offline. */
export async function call(method, path, body) {
  if (!csrfCookie()) await fetch("/healthz", { credentials: "same-origin" }).catch(() => null);
  const headers = { accept: "application/json", "x-csrf-token": csrfCookie() };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

export function problem(result, fallback) {
  const data = result && result.data;
  if (data && data.errors && data.errors.length) return data.errors.map((e) => e.detail).join(" ");
  return (data && data.detail) || fallback || t("Something went wrong. Please try again.");
}

export function passkeysSupported() {
  return typeof window.PublicKeyCredential === "function" && Boolean(navigator.credentials);
}

function bytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function base64url(buffer) {
  let text = "";
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const descriptors = (list) => (list || []).map((d) => ({ ...d, id: bytes(d.id) }));

/** What the person sees when they cancel or the browser says no. */
function refusal(error) {
  if (error && error.name === "NotAllowedError") return t("The passkey was not used (cancelled, or it took too long).");
  if (error && error.name === "InvalidStateError") return t("This device already has a passkey for this account.");
  if (error && error.name === "SecurityError") return t("Passkeys do not work at this address. Open the app at its usual address.");
  return t("This device could not use a passkey.");
}

/** A failure the page can show: {ok: false, status: 0, data: {detail}}. */
const failed = (detail) => ({ ok: false, status: 0, data: { detail } });

/** Ask the server for options at `optionsPath`, let the device sign, post the answer to
 * `answerPath`. Resolves the server's answer (or a failure to show). */
export async function usePasskey(optionsPath, answerPath) {
  const options = await call("POST", optionsPath);
  if (!options.ok) return options;
  const publicKey = {
    ...options.data,
    challenge: bytes(options.data.challenge),
    allowCredentials: descriptors(options.data.allowCredentials),
  };
  let credential;
  try {
    credential = await navigator.credentials.get({ publicKey });
  } catch (error) {
    return failed(refusal(error));
  }
  const response = credential.response;
  return call("POST", answerPath, {
    id: base64url(credential.rawId),
    client_data_json: base64url(response.clientDataJSON),
    authenticator_data: base64url(response.authenticatorData),
    signature: base64url(response.signature),
    user_handle: response.userHandle ? base64url(response.userHandle) : null,
  });
}

/** Sign in with any passkey of ours on this device: the account, as /api/v1/auth/login gives it. */
export function signInWithPasskey() {
  return usePasskey("/api/v1/auth/passkey/options", "/api/v1/auth/passkey");
}

/** Prove who you are again with a passkey of this account (before removing one, …). */
export function reauthenticateWithPasskey() {
  return usePasskey("/api/v1/auth/reauthenticate/passkey/options", "/api/v1/auth/reauthenticate/passkey");
}

/** Make a passkey for the signed-in account on this device, named `name`. */
export async function addPasskey(name) {
  const options = await call("POST", "/api/v1/me/passkeys/options");
  if (!options.ok) return options;
  const publicKey = {
    ...options.data,
    challenge: bytes(options.data.challenge),
    user: { ...options.data.user, id: bytes(options.data.user.id) },
    excludeCredentials: descriptors(options.data.excludeCredentials),
  };
  let credential;
  try {
    credential = await navigator.credentials.create({ publicKey });
  } catch (error) {
    return failed(refusal(error));
  }
  const response = credential.response;
  return call("POST", "/api/v1/me/passkeys", {
    id: base64url(credential.rawId),
    client_data_json: base64url(response.clientDataJSON),
    attestation_object: base64url(response.attestationObject),
    transports: response.getTransports ? response.getTransports() : [],
    name: name || null,
  });
}
