import { describe, expect, it } from "vitest";

import { fill, problemOf, word, type Catalogue } from "../src/wording";

const CATALOGUE: Catalogue = {
  "incident.priority_range": { en: "priority outside the range", "zh-CN": "优先级 {priority} 超出 {min}..{max}" },
  "auth.role_required": { en: "needs another role", "zh-CN": "需要以下角色之一:{needs}" },
};

describe("wording a server problem", () => {
  it("fills the Chinese template with the parameters", () => {
    const problem = { code: "incident.priority_range", message: "priority 7 is outside 1..4", params: { priority: 7, min: 1, max: 4 } };
    expect(word(problem, "zh-CN", CATALOGUE)).toBe("优先级 7 超出 1..4");
  });

  it("joins a list parameter with the language's separator", () => {
    const problem = { code: "auth.role_required", message: "", params: { needs: ["admin", "supervisor"] } };
    expect(word(problem, "zh-CN", CATALOGUE)).toBe("需要以下角色之一:admin、supervisor");
    expect(fill("{needs}", problem.params, "en")).toBe("admin, supervisor");
  });

  it("takes the server's English message, which carries the values", () => {
    const problem = { code: "incident.priority_range", message: "priority 7 is outside 1..4", params: {} };
    expect(word(problem, "en", CATALOGUE)).toBe("priority 7 is outside 1..4");
  });

  it("falls back to the message for a code it does not know yet", () => {
    expect(word({ code: "new.code", message: "something new", params: {} }, "zh-CN", CATALOGUE)).toBe("something new");
  });

  it("leaves a placeholder without a parameter as it is", () => {
    expect(fill("{a} {b}", { a: 1 }, "en")).toBe("1 {b}");
  });
});

describe("reading an answer body", () => {
  it("keeps our code, message and parameters", () => {
    expect(problemOf(409, { code: "x.y", message: "m", params: { a: 1 } })).toEqual({ code: "x.y", message: "m", params: { a: 1 } });
  });

  it("turns anything else into the console's own code with the status", () => {
    expect(problemOf(502, "<html>Bad gateway</html>")).toEqual({ code: "console.unexpected_answer", message: "", params: { status: 502 } });
  });
});
