/**
 * What routing needs to know about people and cost centers. The finance-approval node backs this with the
 * master-data cache; tests back it with a literal. Keeping it this narrow means routing never depends on
 * how or where master data is stored.
 */
import type { Money } from '../model/types';
import { personKey, sameId } from './person-id';

export interface DirectoryEmployee {
  id: string;
  managerId?: string;
  /** The largest total this person may approve, in the company currency. */
  approvalLimit?: Money;
  active: boolean;
}

export interface ApprovalDirectory {
  employee(id: string): DirectoryEmployee | undefined;
  /** Person id of the owner of a cost center, when it has one. */
  costCenterOwner(code: string): string | undefined;
}

export interface ManagerStep {
  /** The next active manager above `fromId`, or undefined when the chain ends before one is found. */
  manager?: DirectoryEmployee;
  /** People passed over on the way and why, for the stage's reason. */
  skipped: string[];
  /** Why the chain ended, when it did. */
  endReason?: string;
}

/**
 * Climbs from `fromId` to the next manager who may approve: active and not the submitter (nobody approves
 * their own report; ids compared as sameId does). Stops at the top of the hierarchy, at an id the directory does not know, or at a loop
 * in the data (someone who is their own indirect manager), so bad master data cannot hang routing.
 */
export function nextManager(directory: ApprovalDirectory, fromId: string, submitterId: string): ManagerStep {
  const skipped: string[] = [];
  const visited = new Set<string>([personKey(fromId)]);
  let current = directory.employee(fromId);
  if (current === undefined) return { skipped, endReason: `${fromId} is not in the employee directory` };
  for (;;) {
    const managerId = current.managerId;
    if (managerId === undefined || managerId === '') {
      return { skipped, endReason: `${current.id} has no manager` };
    }
    if (visited.has(personKey(managerId))) {
      return { skipped, endReason: `the manager chain loops back to ${managerId}` };
    }
    visited.add(personKey(managerId));
    const manager = directory.employee(managerId);
    if (manager === undefined) {
      return { skipped, endReason: `manager ${managerId} of ${current.id} is not in the employee directory` };
    }
    if (sameId(manager.id, submitterId)) skipped.push(`${manager.id} (the submitter)`);
    else if (!manager.active) skipped.push(`${manager.id} (inactive)`);
    else return { manager, skipped };
    current = manager;
  }
}
