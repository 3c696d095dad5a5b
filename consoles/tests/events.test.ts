// Events are worded from the catalogue: their own words, else their family's, never the raw type.
import { describe, expect, it } from "vitest";

import { eventKey, eventSubject } from "../src/events";
import { MESSAGES } from "../src/i18n";
import { LOCALES } from "../src/wording";

type Tree = { [key: string]: string | Tree };

function has(key: string): boolean {
  let at: string | Tree | undefined = MESSAGES.en as Tree;
  for (const part of key.split(".")) at = typeof at === "object" ? at[part] : undefined;
  return typeof at === "string";
}

describe("event wording", () => {
  it("takes the kind's own words when the catalogue has them", () => {
    expect(eventKey("incident.created", has)).toBe("event.incident.created");
    expect(eventKey("unit.status_changed", has)).toBe("event.unit.status_changed");
  });

  it("falls back to the family, then to any event", () => {
    expect(eventKey("incident.kind_of_tomorrow", has)).toBe("event.incident._");
    expect(eventKey("test.first", has)).toBe("event._");
    expect(eventKey("incident", has)).toBe("event.incident._");
    expect(eventKey("", has)).toBe("event._");
    expect(eventKey("constructor.x", has)).toBe("event._");
  });

  it("words every family in both languages", () => {
    for (const locale of LOCALES) {
      const families = (MESSAGES[locale] as unknown as { event: Tree }).event;
      for (const [family, kinds] of Object.entries(families)) {
        if (family === "_") continue;
        expect((kinds as Tree)._, `${locale} ${family}`).toBeTruthy();
      }
    }
  });

  it("names an incident by its number", () => {
    expect(eventSubject({ type: "incident.created", subject_id: "42", data: { number: "2026-000042" } })).toBe("2026-000042");
    expect(eventSubject({ type: "unit.moved", subject_id: "E12", data: {} })).toBe("E12");
  });
});
