// The consoles' languages: zh-CN first, English beside it; the choice is kept on this machine.
import { createI18n } from "vue-i18n";

import en from "./locales/en.json";
import zhCN from "./locales/zh-CN.json";
import { LOCALES, type Locale } from "./wording";

export const MESSAGES = { en, "zh-CN": zhCN } as const;
const STORED = "cad.locale";

export function storedLocale(storage: Pick<Storage, "getItem">): Locale {
  const value = storage.getItem(STORED);
  return LOCALES.find((l) => l === value) ?? "zh-CN";
}

export function keepLocale(storage: Pick<Storage, "setItem">, locale: Locale): void {
  storage.setItem(STORED, locale);
}

export function makeI18n(locale: Locale) {
  return createI18n({ legacy: false, locale, fallbackLocale: "en", messages: MESSAGES });
}
