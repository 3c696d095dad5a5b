// Wording the server's answers in the console's language: an error or reason is a stable code
// with parameters (docs/errors.md); the catalogue built from that page gives each its words.

export type Locale = "zh-CN" | "en";
export const LOCALES: readonly Locale[] = ["zh-CN", "en"];

export interface Problem {
  code: string;
  message: string;
  params: Record<string, unknown>;
}

export type Catalogue = Record<string, Record<Locale, string>>;

const LIST_JOIN: Record<Locale, string> = { "zh-CN": "、", en: ", " };

function shown(value: unknown, locale: Locale): string {
  if (Array.isArray(value)) return value.map((v) => shown(v, locale)).join(LIST_JOIN[locale]);
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** ``template`` with each ``{name}`` replaced by its parameter; unknown names are left as they are. */
export function fill(template: string, params: Record<string, unknown>, locale: Locale): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? shown(params[name], locale) : whole,
  );
}

/** The words for ``problem`` in ``locale``. English takes the server's message, which carries
 * the values; a code the catalogue does not know yet falls back to that message too. */
export function word(problem: Problem, locale: Locale, catalogue: Catalogue): string {
  const entry = catalogue[problem.code];
  if (locale === "en" && problem.message) return problem.message;
  if (entry === undefined) return problem.message || problem.code;
  return fill(entry[locale], problem.params, locale);
}

/** Any answer body as a problem: ours have ``{code, message, params}``; anything else (a proxy's
 * page, a network failure) becomes a code of the console's own. */
export function problemOf(status: number, body: unknown): Problem {
  if (typeof body === "object" && body !== null && "code" in body) {
    const b = body as { code: unknown; message?: unknown; params?: unknown };
    if (typeof b.code === "string") {
      return {
        code: b.code,
        message: typeof b.message === "string" ? b.message : "",
        params: typeof b.params === "object" && b.params !== null ? (b.params as Record<string, unknown>) : {},
      };
    }
  }
  return { code: "console.unexpected_answer", message: "", params: { status } };
}
