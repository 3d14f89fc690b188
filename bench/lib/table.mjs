// The benchmark's results as Markdown tables (bench/results/latest.md, the README's).
import { CRIU_PHASES } from './criu-phases.mjs';
import { mib } from './images.mjs';
import { markdownTable } from './markdown.mjs';
import { VARIANTS } from './runs.mjs';

const ms = (value) => (value === null || value === undefined ? 'n/a' : `${Math.round(value)} ms`);
const x = (value) => (value ? `${value.toFixed(1)}x` : 'n/a');
const pair = (value) => (value ? `${value.p50Ms.toFixed(2)} / ${value.p99Ms.toFixed(2)} ms` : 'n/a');
const right = (count) => ['l', ...Array.from({ length: count - 1 }, () => 'r')];

/** Every table of a run, with the machine it ran on. */
export function markdown(results) {
  const { machine, examples } = results;
  const variants = Object.keys(VARIANTS);
  const firstResponse = examples.map((example) => [
    example.example,
    ...variants.map((variant) => {
      const value = example.variants[variant];
      const failed = value.failures.length > 0 ? ` (${value.failures.length} failed)` : '';
      return variant === 'crac'
        ? `**${ms(value.firstResponseMs)}**`
        : `${ms(value.firstResponseMs)} (${x(example.speedup[variant])})${failed}`;
    }),
  ]);
  const images = examples.map((example) => [
    example.example,
    mib(example.rssAtCheckpointBytes),
    `${mib(example.imageBytes.crac)} (${Math.round((100 * example.imageBytes.crac) / example.rssAtCheckpointBytes)}% of RSS)`,
    mib(example.imageBytes.cracNoShrink),
    mib(example.imageBytes.raw),
    ms(example.checkpointMs.crac),
    ms(example.checkpointMs.cracNoShrink),
    ms(example.checkpointMs.raw),
  ]);
  const latency = examples.map((example) => [
    example.example,
    ...['cold', 'compileCache', 'raw', 'crac'].map((variant) => pair(example.variants[variant].firstRequests)),
    pair(example.steady),
    example.steady && example.variants.crac.firstRequests
      ? `${(example.variants.crac.firstRequests.p99Ms / example.steady.p99Ms).toFixed(2)}x`
      : 'n/a',
  ]);
  const breakdown = examples.map(({ example, restoreBreakdownMs: b, restorerRssKiB: rss }) => [
    example,
    ms(b.launcher),
    `${b.verify.toFixed(1)} ms`,
    ms(b.initAndCriu),
    ms(b.afterRestoreAndFirstResponse),
    ms(b.total),
    restorerRss(rss),
  ]);
  const concurrent = examples.map(({ example, variants, concurrent: c }) => [
    example,
    String(c.copies),
    `${c.answered} of ${c.copies * c.rounds}`,
    c.firstResponseMs ? ms(c.firstResponseMs.median) : 'n/a',
    c.firstResponseMs ? ms(c.firstResponseMs.max) : 'n/a',
    ms(variants.crac.firstResponseMs),
    c.firstResponseMs && variants.crac.firstResponseMs ? x(c.firstResponseMs.median / variants.crac.firstResponseMs) : 'n/a',
  ]);
  const lines = [
    `Taken ${results.takenAt.slice(0, 10)} on ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.kernel}, CRIU ${machine.criu}; ` +
      `Node ${machine.nodes.node20} (Node ${machine.nodes.node24} for the Node 24 rows); ${results.rounds} rounds, medians; ` +
      `first ${results.requestsAfterStart} requests after start.`,
    '',
    '**Time to the first successful response** (from starting the command; speed-up of crac restore over each)',
    '',
    ...markdownTable(
      [['example', ...Object.values(VARIANTS).map((variant) => variant.label)], ...firstResponse],
      right(variants.length + 1),
    ),
    '',
    '**Image and checkpoint** (RSS: the warm app just before the plain CRIU dump)',
    '',
    ...markdownTable(
      [
        [
          'example',
          'RSS at checkpoint',
          'image crac',
          'image CRAC_SHRINK=0',
          'image plain CRIU',
          'checkpoint crac',
          'CRAC_SHRINK=0',
          'plain criu dump',
        ],
        ...images,
      ],
      right(8),
    ),
    '',
    '**Latency after start** (p50 / p99 of the first requests, all rounds; steady: requests 101-400 after a restore)',
    '',
    ...markdownTable(
      [['example', 'cold (Node 20)', 'compile cache', 'plain CRIU', 'crac restore', 'steady state', 'crac p99 / steady p99'], ...latency],
      right(7),
    ),
    '',
    '**Copies restored at once** (one image, each copy with its own PORT; time to its first 200 from the common start)',
    '',
    ...markdownTable(
      [['example', 'copies', 'answered', 'first 200: median', 'max', 'single restore', 'median / single'], ...concurrent],
      right(7),
    ),
    '',
    '**Where a crac restore spends its time** (medians; the start: the `crac` launcher and the native restorer it execs, measured with `crac restore --help`; resident memory of crac restore + its supervisor while the app runs, RSS and PSS: their share of the pages shared with other processes such as libc)',
    '',
    ...markdownTable(
      [
        ['example', 'start', 'verify (quick)', 'supervisor + CRIU restore', 'afterRestore + first response', 'total', 'restorer RSS'],
        ...breakdown,
      ],
      right(7),
    ),
    '',
  ];
  // CRIU's restore phase by phase (its own log's timestamps): the examples, then the image sizes
  const criuRows = [
    ...examples.map(({ example, criuRestoreMs }) => [example, criuRestoreMs]),
    ...results.imageSizeScaling.map((entry) => [`${entry.retainedMB} MB retained`, entry.criuRestoreMs]),
  ].filter(([, phases]) => phases);
  if (criuRows.length > 0) {
    lines.push(
      "**CRIU's restore, phase by phase** (medians, ms, from CRIU's log: setup = kernel probe and process tree; mappings = VMAs read and premapped; restorer = its blob prepared; memory = mappings put in place and pages read in)",
      '',
      ...markdownTable(
        [
          ['', 'total', ...CRIU_PHASES],
          ...criuRows.map(([name, phases]) => [name, phases.total.toFixed(1), ...CRIU_PHASES.map((phase) => phases[phase].toFixed(1))]),
        ],
        right(CRIU_PHASES.length + 2),
      ),
      '',
    );
  }
  if (results.imageSizeScaling.length > 0) {
    lines.push(
      "**Restore time against image size** (fixture retaining N MB, `crac checkpoint --working-set`; the image restored in turns eagerly, `--memory eager`, and with its working set first, the rest through CRIU's lazy-pages server; p99: of the first 100 requests after the first 200, against the 300 after them)",
      '',
      ...markdownTable(
        [
          [
            'retained',
            'image',
            'checkpoint',
            'working set',
            'eager: first 200',
            'working set: first 200',
            'speed-up',
            'p99 first / steady: eager',
            'working set',
          ],
          ...results.imageSizeScaling.map((entry) => [
            `${entry.retainedMB} MB`,
            mib(entry.imageBytes),
            ms(entry.checkpointMs),
            entry.workingSetBytes === undefined ? 'n/a' : `${mib(entry.workingSetBytes)} (${ms(entry.workingSetMs)})`,
            ms(entry.restoreFirstResponseMs),
            entry.workingSet ? ms(entry.workingSet.firstResponseMs) : 'n/a',
            entry.workingSet ? x(entry.restoreFirstResponseMs / entry.workingSet.firstResponseMs) : 'n/a',
            entry.eager ? p99Ratio(entry.eager) : 'n/a',
            entry.workingSet ? p99Ratio(entry.workingSet) : 'n/a',
          ]),
        ],
        ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  }
  if (results.containers?.length > 0) lines.push(...containerTable(results), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The container rows: path 1 of docs/containers.md beside the host's crac restore of the same example. */
function containerTable({ containers, examples }) {
  const hostMs = (name) => examples.find((example) => example.example === name)?.variants.crac.firstResponseMs;
  return [
    "**In containers** (podman, path 1 of docs/containers.md: from `podman run -d` to the first 200; the restored container's time by phase: podman's start of the container, then crac restore's verify and restore (supervisor and CRIU), then the rest (crac's launcher, afterRestore, the first response); inside: all but podman's start, against the host's crac restore above)",
    '',
    ...markdownTable(
      [
        [
          'example',
          'cold start',
          'restore',
          'speed-up',
          'container start',
          'verify',
          'restore (CRIU)',
          'afterRestore + first 200',
          'inside',
          'host crac restore',
        ],
        ...containers.map((row) => [
          row.example,
          `${ms(row.coldMs)} (start ${ms(row.coldContainerStartMs)})`,
          `**${ms(row.restoredMs)}**`,
          x(row.coldMs / row.restoredMs),
          ms(row.phasesMs.containerStart),
          `${row.phasesMs.verify.toFixed(1)} ms`,
          ms(row.phasesMs.restore),
          ms(row.phasesMs.rest),
          ms(row.insideMs),
          ms(hostMs(row.example)),
        ]),
      ],
      right(10),
    ),
  ];
}

/** `1.10x (2.31 / 2.10 ms)`: the p99 of the first 100 requests after a restore against the steady state's. */
function p99Ratio({ p99FirstMs, p99SteadyMs }) {
  return `${(p99FirstMs / p99SteadyMs).toFixed(2)}x (${p99FirstMs.toFixed(2)} / ${p99SteadyMs.toFixed(2)} ms)`;
}

/** `1.9 + 1.5 MiB (PSS 0.2 + 0.2)`: the resident memory of crac restore and of its supervisor while the app runs. */
function restorerRss(rss) {
  const inMiB = (kib) => (kib ? (kib / 1024).toFixed(1) : '?');
  if (!rss) return 'n/a';
  return `${inMiB(rss.restore)} + ${inMiB(rss.supervisor)} MiB (PSS ${inMiB(rss.restorePss)} + ${inMiB(rss.supervisorPss)})`;
}
