/** The `linkpack` root command, before any subcommand is registered (shared by the full and the lazy program). */
import { Command } from 'commander';
import { packageVersion, USAGE_HINT } from './usage.js';

export function rootProgram(): Command {
  return (
    new Command('linkpack')
      .description('NVLink-aware, fragmentation-aware GPU placement for Kubernetes')
      .version(packageVersion(), '-V, --version', 'print the linkpack version')
      // One line of error and a hint, not 30 lines of help (inherited by every subcommand).
      .showHelpAfterError(USAGE_HINT)
      // Commander's own errors become exceptions, so main.ts gives every usage error one exit status.
      .exitOverride()
  );
}
