import { ExitCode } from '../errors.js';
import { reportCommand } from '../reporters/writeReports.js';
import { hasFailures } from '../record/runSummary.js';
import { renderTextSummary } from '../reporters/text.js';
import { shouldUseColor } from '../reporters/color.js';

/** `kt report <run-dir>...`: rebuild the reports from event logs (one run or CI shards). */
export async function reportCommandCli(runDirs: string[], out: string | undefined): Promise<number> {
  const result = await reportCommand(runDirs, out);
  for (const w of result.warnings) process.stderr.write(`kt: warning: ${w}\n`);
  process.stdout.write(renderTextSummary(result.summary, { color: shouldUseColor(process.stdout) }) + '\n');
  process.stdout.write(`kt: reports written to ${result.outDir}\n`);
  return hasFailures(result.summary) ? ExitCode.testFailures : ExitCode.ok;
}
