// Every string of the consoles exists in both languages, and every key the source uses exists.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { parse, preview, STATUS_WORDS, type Desk } from "../src/commandline";
import errors from "../src/locales/errors.json";
import { MESSAGES } from "../src/i18n";
import { LOCALES } from "../src/wording";

type Tree = { [key: string]: string | Tree };

function keys(tree: Tree, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === "string" ? [prefix + k] : keys(v, `${prefix}${k}.`)));
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|vue)$/.test(name) ? [path] : [];
  });
}

const SRC = join(__dirname, "..", "src");

describe("the catalogues", () => {
  it("have the same keys in every language", () => {
    const en = keys(MESSAGES.en).sort();
    expect(keys(MESSAGES["zh-CN"]).sort()).toEqual(en);
  });

  it("have no empty string", () => {
    for (const locale of LOCALES) {
      for (const key of keys(MESSAGES[locale])) {
        expect(key.split(".").reduce<unknown>((t, k) => (t as Tree)[k], MESSAGES[locale]), `${locale} ${key}`).not.toBe("");
      }
    }
  });

  it("have every key the source asks for", () => {
    const known = new Set(keys(MESSAGES.en));
    const used = new Set<string>();
    for (const file of sources(SRC)) {
      for (const match of readFileSync(file, "utf8").matchAll(/\bt\(\s*["'`]([\w.]+)["'`]/g)) used.add(match[1] as string);
    }
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((k) => !known.has(k))).toEqual([]);
  });

  it("word every role in both languages", () => {
    const roles = ["admin", "supervisor", "call_taker", "dispatcher", "leader", "field_unit", "intake"];
    for (const locale of LOCALES) expect(Object.keys(MESSAGES[locale].roles).sort()).toEqual(roles.sort());
  });

  it("have Chinese words for every server code", () => {
    const entries = Object.entries(errors as Record<string, Record<string, string>>);
    expect(entries.length).toBeGreaterThan(200);
    expect(entries.filter(([, w]) => !w["zh-CN"] || !w.en).map(([c]) => c)).toEqual([]);
  });
});

describe("the command line's words", () => {
  const desk: Desk = { units: new Map([["E1", { status: "available", incident: null }]]) };
  const lines = ["", "X ENR", "E1", "FOO", "D E1", "D 2026-000001", "NOTE 2026-000001", "E1 ONS 1", "U", "E1 ONS 2026-000009",
    "E1 ENR", "D E1 2026-000001", "NOTE 2026-000001 x", "I 2026-000001", "U E1"];
  const has = (locale: (typeof LOCALES)[number], key: string) =>
    key.split(".").reduce<unknown>((t, k) => (t === undefined ? undefined : (t as Tree)[k]), MESSAGES[locale]) !== undefined;

  it("has every refusal and preview the grammar gives, in every language", () => {
    const codes = lines.map((l) => parse(l, desk)).map((p) => (p.ok ? preview(p.command).code : p.refusal.code));
    expect(new Set(codes).size).toBeGreaterThan(12);
    for (const locale of LOCALES) expect(codes.filter((c) => !has(locale, c))).toEqual([]);
    for (const locale of LOCALES) expect(["status", "dispatch", "note", "incident", "unit"].filter((k) => !has(locale, `cmd.done.${k}`))).toEqual([]);
  });

  it("words every unit status", () => {
    const statuses = [...Object.values(STATUS_WORDS), "dispatched"];
    for (const locale of LOCALES) expect(statuses.filter((s) => !has(locale, `status.${s}`))).toEqual([]);
  });
});
