// The client's types are those of the app's own OpenAPI document (../openapi.json, which a test
// of the app keeps equal to what the app serves): regenerate with `npm run api` when this fails.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import openapiTS, { astToString } from "openapi-typescript";
import { expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");

it("schema.d.ts is generated from the current openapi.json", async () => {
  const document = JSON.parse(readFileSync(join(ROOT, "openapi.json"), "utf8"));
  const generated = astToString(await openapiTS(document));
  const committed = readFileSync(join(ROOT, "src", "api", "schema.d.ts"), "utf8");
  // The command line adds a header comment; the declarations must be the same.
  const body = (text: string) => text.slice(text.indexOf("export "));
  expect(body(committed)).toBe(body(generated));
});
