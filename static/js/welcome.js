// First run: time zone from the browser, the daily reminder time, the clinic's phone.
import { api, deviceZone, problemText, ready, store } from "./app.js";

const form = document.getElementById("welcome-form");
const errorBox = document.getElementById("form-error");

const account = await ready();
if (account && account.display_name) document.getElementById("welcome-name").textContent = `, ${account.display_name}`;
form.elements.timezone.value = deviceZone();
if (Intl.supportedValuesOf) {
  document.getElementById("timezones").replaceChildren(...Intl.supportedValuesOf("timeZone").map((z) => new Option(z)));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  try {
    const me = await api("PATCH", "/api/v1/me", {
      timezone: form.elements.timezone.value.trim(),
      clinic_phone: form.elements.clinic_phone.value.trim() || null,
    });
    if (!me.ok) throw new Error(problemText(me));
    await store.setAccount(me.data);
    const time = form.elements.daily_checkin_time.value;
    const current = await api("GET", "/api/v1/me/reminders");
    if (current.ok) {
      const saved = await api("PUT", "/api/v1/me/reminders", { ...current.data, daily_checkin_time: time || null });
      if (!saved.ok) throw new Error(problemText(saved));
    }
    location.replace("/");
  } catch (error) {
    errorBox.textContent = error.message && error.message !== "Failed to fetch"
      ? error.message : "You are offline. Try again when you have a connection.";
    errorBox.hidden = false;
  }
});
