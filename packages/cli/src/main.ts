import { Command, InvalidArgumentError } from 'commander';
import { checkCommand } from './commands/check.js';
import { checkpointCommand } from './commands/checkpoint.js';
import { inspectCommand } from './commands/inspect.js';
import { prepareCommand } from './commands/prepare.js';
import { ExitCode } from './output.js';
import { restoreCommand } from './commands/restore.js';
import { setupCommand } from './commands/setup.js';

function parsePid(value: string): number {
  const pid = Number(value);
  if (!Number.isInteger(pid) || pid <= 0) throw new InvalidArgumentError('a process id is a positive integer');
  return pid;
}

function parsePositive(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('a positive number');
  return number;
}

/** The `crac` command line. Resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.OK;
  const program = new Command('crac')
    .description('Coordinated Restore at Checkpoint for Node.js')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`crac: ${text}`) });

  program
    .command('checkpoint')
    .description('checkpoint an app: start it and checkpoint it after warm-up, or ask a running one')
    .usage('--to DIR [--leave-running] [--warmup CMD] -- <command...>\n       crac checkpoint --pid PID [--to DIR] [--leave-running]')
    .argument('[command...]', 'the app to start, after --')
    .option('--to <dir>', 'the image directory (created 0700)')
    .option('--pid <pid>', 'checkpoint this running process (started with @crac/core/register preloaded)', parsePid)
    .option('--leave-running', 'keep the app running after the checkpoint', false)
    .option('--warmup <cmd>', 'shell command that warms the app up; the checkpoint follows when it succeeds')
    .option(
      '--working-set',
      'after the checkpoint, run the warm-up again against a trial restore and record the pages it touches: ' +
        'crac restore loads those with the process and the rest in the background (for images of hundreds of MB)',
      false,
    )
    .option(
      '--no-auto',
      "take care of the app's own resources and the adapters' only: no server or client made a resource without code (CRAC_AUTO=off)",
    )
    .option('--json', 'print the result as one JSON line on stdout', false)
    .addHelpText(
      'after',
      '\nThe command may be a package manager: `-- npm start` checkpoints the Node process npm starts.' +
        '\n\nExamples:\n  crac checkpoint --to ./image --warmup "npx autocannon -d 5 http://127.0.0.1:3000" -- node server.js' +
        '\n  crac checkpoint --to ./image --warmup "curl -sf http://127.0.0.1:3000/" -- npm start\n  crac checkpoint --pid 4242 --to ./image',
    )
    .action(async (command: string[], options) => {
      exitCode = await checkpointCommand(command, options);
    });

  // The restorer owns its command line (options, help, messages): everything after `restore` goes to it.
  program
    .command('restore')
    .description("restore an image in the foreground; exits with the app's exit code (125: the restore failed)")
    .usage('[options] <dir>  (crac restore --help: the options)')
    .argument('[arguments...]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_operands: string[], _options: unknown, command: Command) => {
      exitCode = await restoreCommand(command.args);
    });

  program
    .command('prepare')
    .description("before a container engine's checkpoint: the app releases every resource and holds (exit 0 once it holds)")
    .requiredOption('--pid <pid>', 'the app (started with @crac/core/register preloaded)', parsePid)
    .option('--hold-ms <ms>', 'how long the app holds for the dump and restore before it runs on (default 600000)', parsePositive)
    .option('--json', 'print the result as one JSON line on stdout', false)
    .addHelpText('after', '\nExample:\n  podman exec app crac prepare --pid 1 && podman container checkpoint --export app.tar.gz app')
    .action(async (options) => {
      exitCode = await prepareCommand(options);
    });

  program
    .command('inspect')
    .description("print an image's manifest, and whether it verifies on this host (exit code 1 when not)")
    .argument('<dir>', 'the image directory')
    .option('--json', 'print the manifest and the verification as one JSON line', false)
    .action(async (dir: string, options) => {
      exitCode = await inspectCommand(dir, options);
    });

  program
    .command('check')
    .description('can this host checkpoint and restore, and if not, what to do')
    .option('--json', 'print the checks as JSON', false)
    .option('--grant-capabilities', "as root: first grant CRIU's binary the file capabilities non-root users need", false)
    .action((options) => {
      exitCode = checkCommand(options);
    });

  program
    .command('setup')
    .description('provide what checkpoint and restore need here: CRIU 4.2+ (as root) and the native programs; idempotent')
    .addHelpText(
      'after',
      '\nCRIU: one already installed (CRAC_CRIU_PATH, /usr/local/libexec/crac/criu, PATH) if 4.2 or newer, else the\n' +
        "distribution's package if new enough, else built from the distribution's source package (Debian and\n" +
        'derivatives; CRAC_CRIU_INSTALL_DIR, CRAC_DEBIAN_MIRROR, CRAC_CRIU_SUITE change where from and to).',
    )
    .option(
      '--unprivileged',
      'also grant CRIU the file capabilities with which non-root users checkpoint and restore (cap_checkpoint_restore, cap_setpcap)',
    )
    .action(async (options: { unprivileged?: boolean }) => {
      exitCode = await setupCommand({ unprivileged: options.unprivileged === true });
    });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return ExitCode.OK;
    if (code.startsWith('commander.')) return ExitCode.USAGE;
    throw error;
  }
  return exitCode;
}
