// The incident's narrative as the timeline shows it: people's notes as written, and the server's
// own entries (kind "system") worded from their code and parameters (docs/errors.md, "Narrative";
// the codes are `NarrativeCode` in command/incidents/domain.py). A system entry written before
// codes has only its English text and stays hidden, as the timeline's other lines say the same.
import type { Locale, Problem } from "./wording";

/** What of a narrative entry the timeline reads (NarrativeOut). */
export interface NarrativeLike {
  kind: string;
  text: string;
  code?: string | null;
  params?: Record<string, unknown>;
}

/** Whether the timeline shows ``entry``: a person's note, or a system entry with a code. */
export function shown(entry: NarrativeLike): boolean {
  return entry.kind === "note" || (entry.kind === "system" && typeof entry.code === "string" && entry.code !== "");
}

function isNames(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
}

/** A system entry as a problem to word (``useWords().say``): its English text is the message; a
 * name per language (``names``) is taken in ``locale`` (else English), and a value the screen
 * words itself (a status, a command level) by ``valueWord`` when it knows it. */
export function narrativeProblem(
  entry: NarrativeLike,
  locale: Locale,
  valueWord: (param: string, value: string) => string | undefined = () => undefined,
): Problem {
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entry.params ?? {})) {
    if (isNames(value)) params[name] = value[locale] ?? value.en ?? Object.values(value)[0] ?? "";
    // a participant is named as people know them (alice, CMD1), not by its key (user:alice)
    else if (name === "member" && typeof value === "string") params[name] = value.replace(/^(user|unit):/, "");
    else if (typeof value === "string") params[name] = valueWord(name, value) ?? value;
    else params[name] = value;
  }
  return { code: entry.code ?? "", message: entry.text, params };
}

/** The catalogue key (en.json, zh-CN.json) that words ``param``'s value in an entry of ``code``,
 *  if the screen has one (a value it has no words for is shown as it is). */
export function valueKey(code: string, param: string, value: string): string | undefined {
  if (param === "status" || param === "from_status") return `incidentStatus.${value}`;
  if (param === "from_level" || param === "to_level") return `commandLevel.${value}`;
  if (param === "media") return `video.${value}`;
  if (code === "narrative.attachment_added" && param === "kind") return `attachmentKind.${value}`;
  if (code === "narrative.consultation_left" && param === "reason") return `leftReason.${value}`;
  return undefined;
}
