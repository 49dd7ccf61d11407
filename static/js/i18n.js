// The browser's share of the message catalogue (server/i18n.py): the page says its language in
// <html lang> (the server rendered it in the reader's language), and this module loads the
// translations of the scripts' messages once, from /i18n/<lang>.json (precached by the service
// worker with the shell, so it works offline). English needs none: the message ids are English.
//
//   import { t, locale } from "./i18n.js";
//   t("Question {n} of {total}", { n: 2, total: 9 })
//
// `make messages` finds every t() whose message is a plain string literal; never inside a
// template literal's ${…}, where the extractor cannot see it (tests/unit/test_catalogue.py).
export const locale = document.documentElement.lang || "en";

async function load(language) {
  if (language === "en") return {};
  try {
    const response = await fetch(`/i18n/${language}.json`, { credentials: "same-origin" });
    return response.ok ? await response.json() : {};
  } catch {
    return {};  // offline before the service worker had it: English rather than nothing
  }
}

const messages = await load(locale);

/** `message` in the page's language, with each {name} replaced by `values[name]`. */
export function t(message, values) {
  const text = Object.hasOwn(messages, message) ? messages[message] : message;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
