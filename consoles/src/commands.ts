// Carrying out a command of the command line through the API. Every change carries an
// Idempotency-Key, so that a retry after a lost answer changes nothing twice.
import { answer, type Api } from "./api/client";
import type { Command, Refusal } from "./commandline";

function keyed(): { "Idempotency-Key": string } {
  return { "Idempotency-Key": crypto.randomUUID() };
}

async function incidentId(api: Api, number: string): Promise<number> {
  const found = await answer(api.GET("/api/v1/incidents/by-number/{number}", { params: { path: { number } } }));
  return found.incident.id;
}

/** Do ``command``; what was done, worded by the catalogue (``cmd.done.*``). */
export async function run(api: Api, command: Command): Promise<Refusal> {
  switch (command.kind) {
    case "status":
      for (const unit of command.units) {
        await answer(
          api.POST("/api/v1/units/{unit_id}/status", {
            params: { path: { unit_id: unit } },
            headers: keyed(),
            body: { status: command.status, reason: "" },
          }),
        );
      }
      return { code: "cmd.done.status", params: { units: command.units, status: command.status } };
    case "dispatch": {
      const id = await incidentId(api, command.incident);
      await answer(
        api.POST("/api/v1/incidents/{incident_id}/assignments", {
          params: { path: { incident_id: id } },
          headers: keyed(),
          body: { unit_ids: command.units, divert: false },
        }),
      );
      return { code: "cmd.done.dispatch", params: { units: command.units, incident: command.incident } };
    }
    case "note": {
      const id = await incidentId(api, command.incident);
      await answer(
        api.POST("/api/v1/incidents/{incident_id}/narrative", {
          params: { path: { incident_id: id } },
          headers: keyed(),
          body: { text: command.text },
        }),
      );
      return { code: "cmd.done.note", params: { incident: command.incident } };
    }
    case "incident": {
      const found = await answer(
        api.GET("/api/v1/incidents/by-number/{number}", { params: { path: { number: command.incident } } }),
      );
      const i = found.incident;
      return { code: "cmd.done.incident", params: { incident: i.number, status: i.status, priority: i.priority, address: i.address || "-" } };
    }
    case "unit": {
      const unit = await answer(api.GET("/api/v1/units/{unit_id}", { params: { path: { unit_id: command.unit } } }));
      return { code: "cmd.done.unit", params: { unit: unit.id, status: unit.status, incident: unit.incident_number ?? "-" } };
    }
  }
}
