/**
 * `hotaisle validate [FILE...]`: check site files without starting anything.
 * Prints every problem as `file: path: message` and a one-line summary for each good file.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblems, loadSiteFile } from '../config/loader.ts';

const SITE_FILE = /\.(ya?ml|json)$/i;

/** Site files directly in a directory (not its subdirectories), sorted for stable output. */
export function siteFilesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && SITE_FILE.test(e.name))
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Validates each file (a directory stands for the site files directly in it; no arguments means
 * `sites/`). Returns the exit code: 0 when every file is good, 1 otherwise.
 */
export function runValidate(files: string[], out: (line: string) => void, defaultDir = 'sites'): number {
  let targets: string[];
  try {
    targets = (files.length > 0 ? files : [defaultDir]).flatMap((f) =>
      isDirectory(f) ? siteFilesIn(f) : [f],
    );
  } catch (err) {
    out(`hotaisle validate: ${(err as Error).message}`);
    return 1;
  }
  if (targets.length === 0) {
    out(`no site files (*.yaml, *.yml, *.json) found in ${files.length > 0 ? files.join(', ') : defaultDir}`);
    return 1;
  }
  let allGood = true;
  for (const file of targets) {
    const result = loadSiteFile(file);
    if (!result.ok) {
      allGood = false;
      out(formatProblems(result.problems));
      continue;
    }
    const racks = result.config.rooms.reduce(
      (n, room) => n + room.rows.reduce((m, row) => m + row.racks.length, 0),
      0,
    );
    const units = result.config.coolingUnits.length;
    out(
      `${file}: ok (${racks} rack${racks === 1 ? '' : 's'}, ${units} cooling unit${units === 1 ? '' : 's'})`,
    );
  }
  return allGood ? 0 : 1;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a missing file is reported by the loader, with the others
  }
}
