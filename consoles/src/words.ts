// The console's wording in the current language: a problem (the console's own codes from its
// catalogues, the server's from the catalogue of docs/errors.md), and a thing the server names
// in each language (an incident or unit type, a plan, a task).
import { useI18n } from "vue-i18n";

import catalogue from "./locales/errors.json";
import { word, type Catalogue, type Locale, type Problem } from "./wording";

const SERVER: Catalogue = catalogue;

export function useWords() {
  const { t, locale } = useI18n();
  return {
    say(problem: Problem): string {
      if (problem.code.startsWith("console.")) return t(problem.code, problem.params);
      return word(problem, locale.value as Locale, SERVER);
    },
    /** ``names`` in the screen's language, else in English, else ``fallback`` (its code). */
    named(names: Record<string, string> | null | undefined, fallback: string): string {
      return names?.[locale.value] ?? names?.en ?? fallback;
    },
  };
}
