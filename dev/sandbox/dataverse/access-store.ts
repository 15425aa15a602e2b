// Who may do what in the emulated org: business units (each with its default team), security roles (a copy of
// each root role in every unit), teams and the two N:N relationships systemuserroles_association and
// teammembership_association, with the platform's rules for changing them.
import { randomUUID } from "node:crypto";
import { DataverseError } from "./errors.js";
import { Links } from "./links.js";

export interface BusinessUnitRecord {
  businessunitid: string;
  name: string;
  _parentbusinessunitid_value: string | null;
}

export interface RoleRecord {
  roleid: string;
  name: string;
  _businessunitid_value: string;
  /** The root role this one copies; a root role (or one made in a child unit) names itself. */
  _parentrootroleid_value: string;
}

/** 0 Owner, 1 Access, 2 Microsoft Entra ID security group, 3 Microsoft Entra ID Office group. */
export type TeamType = 0 | 1 | 2 | 3;

export interface TeamRecord {
  teamid: string;
  name: string;
  teamtype: TeamType;
  isdefault: boolean;
  _businessunitid_value: string;
  /** The Entra group of a group team (teamtype 2 and 3), else null. */
  azureactivedirectoryobjectid: string | null;
  /** Entra group teams: 0 members and guests, 1 members, 2 owners, 3 guests; null for other teams. */
  membershiptype: number | null;
}

/** A change-set journal entry that puts one access change back. */
export interface Undo { undo: () => void }
/** Where access changes record their undo (a change set's journal). */
export interface UndoLog { push(entry: Undo): unknown }

export interface TeamInit {
  name: string;
  teamtype?: TeamType;
  businessunitid?: string;
  azureactivedirectoryobjectid?: string | null;
  membershiptype?: number | null;
  teamid?: string;
}

const lower = (id: string) => id.toLowerCase();

export class AccessStore {
  readonly units = new Map<string, BusinessUnitRecord>();
  readonly roles = new Map<string, RoleRecord>();
  readonly teams = new Map<string, TeamRecord>();
  readonly userRoles = new Links("systemuserroleid", "roleid");
  readonly memberships = new Links("teammembershipid", "teamid");
  private readonly defaultTeams = new Map<string, string>();

  constructor(readonly rootUnitId: string, rootName: string) {
    this.createUnit(rootUnitId, rootName, null);
  }

  /** A child unit (default: of the root) with its default team and a copy of every root role. */
  addUnit(name: string, parentId: string = this.rootUnitId, businessunitid: string = randomUUID()): BusinessUnitRecord {
    if (!this.units.has(parentId)) throw new Error(`no business unit ${parentId}`);
    const unit = this.createUnit(lower(businessunitid), name, parentId);
    for (const role of this.rootRoles()) this.putRole(role.name, unit.businessunitid, role.roleid);
    return unit;
  }

  /** A role in a unit; a root role is copied into every other unit, as the platform does. */
  addRole(name: string, businessunitid: string = this.rootUnitId): RoleRecord {
    const unit = lower(businessunitid);
    if (!this.units.has(unit)) throw new Error(`no business unit ${businessunitid}`);
    const role = this.putRole(name, unit, null);
    if (unit === this.rootUnitId) {
      for (const other of this.units.keys()) if (other !== unit) this.putRole(name, other, role.roleid);
    }
    return role;
  }

  addTeam(init: TeamInit): TeamRecord {
    const teamtype = init.teamtype ?? 0;
    const team: TeamRecord = {
      teamid: lower(init.teamid ?? randomUUID()), name: init.name, teamtype, isdefault: false,
      _businessunitid_value: lower(init.businessunitid ?? this.rootUnitId),
      azureactivedirectoryobjectid: init.azureactivedirectoryobjectid?.toLowerCase() ?? null,
      membershiptype: teamtype >= 2 ? init.membershiptype ?? 0 : init.membershiptype ?? null,
    };
    if (!this.units.has(team._businessunitid_value)) throw new Error(`no business unit ${team._businessunitid_value}`);
    this.teams.set(team.teamid, team);
    return team;
  }

  defaultTeamOf(businessunitid: string): TeamRecord {
    return this.teams.get(this.defaultTeams.get(businessunitid)!)!;
  }

  roleInUnit(name: string, businessunitid: string): RoleRecord | undefined {
    const wanted = name.toLowerCase();
    for (const role of this.roles.values()) if (role._businessunitid_value === businessunitid && role.name.toLowerCase() === wanted) return role;
    return undefined;
  }

  /** A new user joins their unit's default team (the platform keeps that membership). */
  userJoined(userId: string, businessunitid: string, journal?: UndoLog): void {
    const team = this.defaultTeams.get(businessunitid);
    if (team) this.link(this.memberships, userId, team, journal);
  }

  /**
   * A user moved to another unit: every security role is removed (the platform's default, without the org
   * setting DoNotRemoveRolesOnChangeBusinessUnit) and the default-team membership follows. Returns the roles dropped.
   */
  userMoved(userId: string, from: string, to: string, journal?: UndoLog, dropRoles = true): string[] {
    const dropped = dropRoles ? this.userRoles.ofUser(userId) : [];
    for (const roleId of dropped) this.unlink(this.userRoles, userId, roleId, journal);
    const old = this.defaultTeams.get(from);
    if (old) this.unlink(this.memberships, userId, old, journal);
    this.userJoined(userId, to, journal);
    return dropped;
  }

  /** A deleted user leaves every role and team. */
  userRemoved(userId: string, journal?: UndoLog): void {
    for (const roleId of this.userRoles.ofUser(userId)) this.unlink(this.userRoles, userId, roleId, journal);
    for (const teamId of this.memberships.ofUser(userId)) this.unlink(this.memberships, userId, teamId, journal);
  }

  /** Assigns a role; only a role of the user's own unit can be assigned. */
  associateRole(user: { systemuserid: string; _businessunitid_value: string }, roleId: string, journal?: UndoLog): void {
    const role = this.roles.get(roleId);
    if (!role) throw new DataverseError(404, "0x80040217", `role With Id = ${roleId} Does Not Exist`);
    if (role._businessunitid_value !== user._businessunitid_value) {
      // No error dedicated to this case is documented; this is the documented code for "the user does not belong
      // to the business" (unManagedidsinvaliduseridorbusinessidorusersbusinessinvalid). The live code is unverified.
      throw new DataverseError(400, "0x8004021d",
        `One of the following occurred: invalid user id, invalid business id or the user does not belong to the business. (role ${role.roleid} is in business unit ${role._businessunitid_value}, the user in ${user._businessunitid_value})`);
    }
    if (this.userRoles.has(user.systemuserid, roleId)) throw duplicate();
    this.link(this.userRoles, user.systemuserid, roleId, journal);
  }

  /** Removing a role the user does not hold succeeds and changes nothing. */
  disassociateRole(userId: string, roleId: string, journal?: UndoLog): boolean {
    if (!this.roles.has(roleId)) throw new DataverseError(404, "0x80040217", `role With Id = ${roleId} Does Not Exist`);
    return this.unlink(this.userRoles, userId, roleId, journal);
  }

  addMember(teamId: string, userId: string, journal?: UndoLog): void {
    const team = this.checkManualMembership(teamId, "add");
    if (this.memberships.has(userId, team.teamid)) throw duplicate();
    this.link(this.memberships, userId, team.teamid, journal);
  }

  removeMember(teamId: string, userId: string, journal?: UndoLog): boolean {
    const team = this.checkManualMembership(teamId, "remove");
    return this.unlink(this.memberships, userId, team.teamid, journal);
  }

  /** Root roles (a copy in a child unit names its root role; a root role names itself). */
  private rootRoles(): RoleRecord[] {
    return [...this.roles.values()].filter((r) => r._businessunitid_value === this.rootUnitId);
  }

  private createUnit(id: string, name: string, parent: string | null): BusinessUnitRecord {
    const unit = { businessunitid: id, name, _parentbusinessunitid_value: parent };
    this.units.set(id, unit);
    const team = this.addTeam({ name, businessunitid: id });
    team.isdefault = true;
    this.defaultTeams.set(id, team.teamid);
    return unit;
  }

  private putRole(name: string, businessunitid: string, root: string | null): RoleRecord {
    const roleid = randomUUID();
    const role = { roleid, name, _businessunitid_value: businessunitid, _parentrootroleid_value: root ?? roleid };
    this.roles.set(roleid, role);
    return role;
  }

  /**
   * Default teams follow the unit's users; Entra group teams follow their group; access teams are the platform's
   * per-record sharing teams here. Only the default-team errors are documented (CannotAddMembersToDefaultTeam,
   * CannotRemoveMembersFromDefaultTeam); the group/access-team refusal reuses the documented AccessDenied code.
   */
  private checkManualMembership(teamId: string, change: "add" | "remove"): TeamRecord {
    const team = this.teams.get(teamId);
    if (!team) throw new DataverseError(404, "0x80040217", `team With Id = ${teamId} Does Not Exist`);
    if (team.isdefault) {
      throw change === "add"
        ? new DataverseError(400, "0x8004830B", `Can't add members to the default business unit team (TeamId = ${team.teamid}).`)
        : new DataverseError(400, "0x8004830C", `Can't remove members from the default business unit team (TeamId = ${team.teamid}).`);
    }
    if (team.teamtype !== 0) {
      const kind = team.teamtype === 1 ? "an access team" : "a Microsoft Entra ID group team, whose membership follows its group";
      throw new DataverseError(400, "0x80048405", `Access is denied. Members cannot be ${change === "add" ? "added to" : "removed from"} ${kind} (TeamId = ${team.teamid}).`);
    }
    return team;
  }

  private link(links: Links, userId: string, otherId: string, journal?: UndoLog): void {
    if (links.has(userId, otherId)) return;
    links.add(userId, otherId);
    journal?.push({ undo: () => links.remove(userId, otherId) });
  }

  private unlink(links: Links, userId: string, otherId: string, journal?: UndoLog): boolean {
    if (!links.remove(userId, otherId)) return false;
    journal?.push({ undo: () => links.add(userId, otherId) });
    return true;
  }
}

/**
 * 0x80040237 DuplicateRecord: associating a pair that is already associated fails (the intersect row would be a
 * duplicate); an existing pair is not silently accepted.
 */
const duplicate = () => new DataverseError(400, "0x80040237", "Cannot insert duplicate key.");
