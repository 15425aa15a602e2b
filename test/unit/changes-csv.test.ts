// The run report's CSV export (console and CLI share it): people first, the columns and access changes in words,
// the access write's own outcome beside the entry's, ids last; RFC 4180 quoting and no spreadsheet formulas.
import { describe, expect, it } from "vitest";
import { changesCsv, type ChangeEntry } from "../../client/people.js";

const parse = (csv: string) => csv.trimEnd().split("\r\n");

describe("changesCsv", () => {
  it("writes a user's access change on their own entry, with the access outcome and error when they differ", () => {
    const created: ChangeEntry = {
      action: "create", objectId: "0b1c", systemUserId: "9f8e", displayName: "Ada Lovelace", logon: "ada@contoso.com", outcome: "applied",
      columns: [{ column: "firstname", old: null, new: "Ada" }],
      access: { businessUnit: { old: "contoso", new: "Sales" }, rolesAdded: ["Salesperson"], rolesRemoved: [], teamsAdded: ["Sales EMEA"], teamsRemoved: ["Old team"] },
      accessOutcome: "failed", accessError: { code: "dataverse_error", message: "0x80040220 privilege" },
    };
    const [header, row] = parse(changesCsv([created]));
    expect(header).toBe("action,displayName,logon,outcome,reason,columns,access,accessOutcome,error,objectId,systemUserId");
    expect(row).toBe("create,Ada Lovelace,ada@contoso.com,applied,,firstname:  -> Ada,business unit: contoso → Sales; roles: +Salesperson; teams: +Sales EMEA; teams: −Old team,failed: dataverse_error 0x80040220 privilege,,0b1c,9f8e");
  });

  it("leaves the access columns empty for an entry without access, and an access-only entry keeps its own outcome", () => {
    const rows = parse(changesCsv([
      { action: "update", objectId: "1", outcome: "applied", columns: [{ column: "title", old: "a", new: "b" }] },
      { action: "access", objectId: "2", outcome: "planned", access: { rolesAdded: [], rolesRemoved: ["Auditor"], teamsAdded: [], teamsRemoved: [], rolesLostInMove: ["Custom"] } },
    ]));
    expect(rows[1]).toBe("update,,,applied,,title: a -> b,,,,1,");
    expect(rows[2]).toBe("access,,,planned,,,roles: −Auditor; roles lost in the move: −Custom,,,2,");
  });

  it("quotes fields with commas or quotes and neutralises a leading formula character", () => {
    const [, row] = parse(changesCsv([{ action: "update", objectId: "3", displayName: '=HYPERLINK("x"), bad', reason: "a,b" }]));
    expect(row).toBe(`update,"'=HYPERLINK(""x""), bad",,,"a,b",,,,,3,`);
  });
});
