// An invitation's token arrives in the link's fragment (never sent to a server, so never in a
// log). Kept in this tab's sessionStorage through signing up, and put in the page's form.
const KEY = "afterglow-invitation";
const fragment = new URLSearchParams(location.hash.slice(1));
let token = fragment.get("token");
if (token) {
  sessionStorage.setItem(KEY, token);
  history.replaceState(null, "", location.pathname);
} else {
  token = sessionStorage.getItem(KEY);
}
for (const input of document.querySelectorAll('input[name="token"]')) {
  if (!input.value) input.value = token || "";
}
const zone = document.querySelector('input[name="timezone"]');
if (zone) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
if (!token && !document.querySelector('input[name="token"][value]:not([value=""])')) {
  document.getElementById("no-token")?.removeAttribute("hidden");
}
