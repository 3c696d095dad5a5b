// The shortcut table and registry: physical keys, no clash, the latest screen's action wins.
import { describe, expect, it } from "vitest";

import { MESSAGES } from "../src/i18n";
import { actionOf, keysOf, SHORTCUTS, Shortcuts, type KeyLike } from "../src/shortcuts";
import { LOCALES } from "../src/wording";

function press(code: string, mods: Partial<KeyLike> = {}): KeyLike {
  return { code, altKey: false, ctrlKey: false, metaKey: false, shiftKey: false, ...mods };
}

describe("the shortcut table", () => {
  it("gives every key one action and every action one key", () => {
    const keys = SHORTCUTS.map((s) => `${s.alt}:${s.code}`);
    expect(new Set(keys).size).toBe(keys.length);
    const actions = SHORTCUTS.map((s) => s.action);
    expect(new Set(actions).size).toBe(actions.length);
  });

  it("keeps clear of the browser's own Alt keys (its menus) and of Ctrl", () => {
    for (const s of SHORTCUTS) expect(["KeyF", "KeyE"]).not.toContain(s.code);
    expect(actionOf(press("KeyL", { altKey: true, ctrlKey: true }))).toBeNull();
    expect(actionOf(press("KeyL", { altKey: true, shiftKey: true }))).toBeNull();
  });

  it("words every action in both languages", () => {
    for (const locale of LOCALES) {
      const words = (MESSAGES[locale] as unknown as { shortcut: Record<string, string> }).shortcut;
      expect(SHORTCUTS.filter((s) => !words[s.action]).map((s) => s.action), locale).toEqual([]);
    }
  });

  it("matches by the physical key", () => {
    expect(actionOf(press("KeyL", { altKey: true }))).toBe("language");
    expect(actionOf(press("KeyL"))).toBeNull(); // typing an l is typing
    expect(actionOf(press("F2"))).toBe("command");
    expect(keysOf({ action: "nextIncident", code: "ArrowDown", alt: true })).toBe("Alt+↓");
    expect(keysOf({ action: "status1", code: "Digit1", alt: true })).toBe("Alt+1");
    expect(keysOf({ action: "command", code: "F2", alt: false })).toBe("F2");
  });
});

describe("the registry", () => {
  it("runs the action of the screen shown, the latest first, and forgets what went", () => {
    const shortcuts = new Shortcuts();
    const done: string[] = [];
    const offMap = shortcuts.on("recommend", () => done.push("map"));
    const offDialog = shortcuts.on("recommend", () => done.push("dialog"));
    expect(shortcuts.handle(press("KeyR", { altKey: true }))).toBe(true);
    offDialog();
    shortcuts.handle(press("KeyR", { altKey: true }));
    offMap();
    expect(shortcuts.handle(press("KeyR", { altKey: true }))).toBe(false);
    expect(done).toEqual(["dialog", "map"]);
  });

  it("lists what does something now, and refuses an action with no key", () => {
    const shortcuts = new Shortcuts();
    shortcuts.on("language", () => undefined);
    shortcuts.on("help", () => undefined);
    expect(shortcuts.available().map((s) => s.action)).toEqual(["help", "language"]);
    expect(() => shortcuts.on("nothing", () => undefined)).toThrow("no shortcut for nothing");
  });
});
