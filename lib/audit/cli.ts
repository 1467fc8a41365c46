#!/usr/bin/env node
/**
 * finance-audit-verify <trail directory or file> [--json]
 *
 * Verifies a finance-sync audit trail and names the first bad record. Exit code 0: the chain is whole (a last
 * record cut short by a crash is reported as a warning); 1: a record was edited, deleted, reordered or
 * replaced; 2: the trail could not be read (or wrong usage).
 */
import { verifyTrail, type VerifyResult } from './verify';

export interface CliOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Runs the command with its arguments; returns the exit code. */
export function runCli(args: string[], output: CliOutput): number {
  const json = args.includes('--json');
  const targets = args.filter((arg) => arg !== '--json');
  if (targets.length !== 1 || targets[0] === '--help' || targets[0] === '-h') {
    output.stderr('usage: finance-audit-verify <trail directory or file> [--json]\n');
    return 2;
  }
  let result: VerifyResult;
  try {
    result = verifyTrail(targets[0]!);
  } catch (err) {
    output.stderr(`finance-audit-verify: cannot read ${targets[0]}: ${(err as Error).message}\n`);
    return 2;
  }
  output.stdout(json ? JSON.stringify(result) + '\n' : report(result));
  return result.ok ? 0 : 1;
}

function report(result: VerifyResult): string {
  if (!result.ok) {
    const bad = result.firstBad!;
    return (
      `BAD: ${bad.file} line ${bad.line}${bad.seq === undefined ? '' : ` (record ${bad.seq})`}: ${bad.reason}. ` +
      `The ${result.records} records before it are intact (last good record ${result.lastSeq}).\n`
    );
  }
  const ok = `OK: ${result.records} records in ${result.files} file(s) form an unbroken chain; last record ${result.lastSeq}, hash ${result.lastHash}\n`;
  const incomplete = result.incompleteLastRecord;
  return incomplete ? ok + `WARNING: ${incomplete.file} line ${incomplete.line}: ${incomplete.reason}.\n` : ok;
}

if (require.main === module) {
  process.exitCode = runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
