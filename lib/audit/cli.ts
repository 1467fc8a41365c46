#!/usr/bin/env node
/**
 * finance-audit-verify <trail directory or file> [--json]
 *
 * Verifies a finance-sync audit trail and names the first bad record. Exit code 0: the chain is whole;
 * 1: a record was edited, deleted, reordered or replaced; 2: the trail could not be read (or wrong usage).
 */
import { verifyTrail } from './verify';

function main(args: string[]): number {
  const json = args.includes('--json');
  const targets = args.filter((arg) => arg !== '--json');
  if (targets.length !== 1 || targets[0] === '--help' || targets[0] === '-h') {
    process.stderr.write('usage: finance-audit-verify <trail directory or file> [--json]\n');
    return 2;
  }
  let result;
  try {
    result = verifyTrail(targets[0]!);
  } catch (err) {
    process.stderr.write(`finance-audit-verify: cannot read ${targets[0]}: ${(err as Error).message}\n`);
    return 2;
  }
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else if (result.ok) {
    process.stdout.write(
      `OK: ${result.records} records in ${result.files} file(s) form an unbroken chain; last record ${result.lastSeq}, hash ${result.lastHash}\n`,
    );
  } else {
    const bad = result.firstBad!;
    process.stdout.write(
      `BAD: ${bad.file} line ${bad.line}${bad.seq === undefined ? '' : ` (record ${bad.seq})`}: ${bad.reason}. ` +
        `The ${result.records} records before it are intact (last good record ${result.lastSeq}).\n`,
    );
  }
  return result.ok ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
