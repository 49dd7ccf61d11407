// The offline page. The service worker serves it for any page the phone cannot reach; for
// History, whose charts are drawn by the server, it still lists the entries kept on this phone.
import { ready, t } from "./app.js";

if (location.pathname === "/history") {
  document.title = t("History · Afterglow");
  document.getElementById("offline-title").textContent = t("History");
  document.getElementById("offline-lead").textContent =
    t("You are offline, so the charts cannot be drawn. Your entries on this phone are below; anything new syncs when you are back online.");
  document.getElementById("offline-links").hidden = true;
  document.getElementById("kept").hidden = false;
  document.querySelector('.tabbar a[href="/history"]')?.setAttribute("aria-current", "page");
  await import("./history.js");
} else {
  await ready();
}
