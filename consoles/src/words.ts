// The console's wording of a problem in the current language: the console's own codes from its
// catalogues, the server's from the catalogue of docs/errors.md.
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
  };
}
