#!/usr/bin/env node
'use strict';
// Measure how long a Node.js merchant takes to verify one IPN body:
// parse (qs.parse or querystring.parse) -> build the documented string ->
// sha256 hex -> crypto.timingSafeEqual against the `hash` field.
// Prints exactly one JSON line on stdout; everything else goes to stderr.

const crypto = require('crypto');
const fs = require('fs');
const querystring = require('querystring');
const qs = require('qs');
const { REQUIRED_FIELDS, DEFAULT_SAMPLE_BODY, DEFAULT_SECRET, parseArgs } = require('./lib');

const USAGE = `usage: verify-bench.js [--file PATH] [--secret S] [--parser qs|querystring]
                       [--iterations N] [--rounds R] [--processes K] [--warmup-ms MS]
                       [--input string|buffer]
  --file PATH       body to verify (default: crates/smartex-core/tests/data/sample-ipn-body.txt)
  --secret S        IPN secret (default: SECRET123)
  --parser P        qs (default; what Express's urlencoded({extended:true}) uses) or querystring
  --iterations N    verifications per timed batch (default: calibrated to >= 10 ms per batch)
  --rounds R        timed batches per process (default: 31)
  --processes K     run the measurement in K fresh node processes, one after the other
                    (default: 5); the reported median is over all K*R batches. V8 settles
                    qs.parse into a fast or a ~1.7x slower state per process, at random,
                    so one process alone can mislead.
  --warmup-ms MS    warm-up time before calibration and timing (default: 500)
  --input I         string (default): time from the body as a JS string, as a handler sees it;
                    buffer: also time the UTF-8 decoding of the raw bytes`;

function fail(msg, code) {
  process.stderr.write(`verify-bench: ${msg}\n`);
  process.exit(code);
}

let args;
try {
  args = parseArgs(process.argv.slice(2), {
    file: { type: 'string', default: DEFAULT_SAMPLE_BODY },
    secret: { type: 'string', default: DEFAULT_SECRET },
    parser: { type: 'string', default: 'qs', choices: ['qs', 'querystring'] },
    iterations: { type: 'int', default: 0 },
    rounds: { type: 'int', default: 31 },
    processes: { type: 'int', default: 5 },
    'warmup-ms': { type: 'int', default: 500 },
    input: { type: 'string', default: 'string', choices: ['string', 'buffer'] },
    'emit-rounds': { type: 'flag', default: false }, // internal: child of --processes
  });
} catch (e) {
  fail(`${e.message}\n${USAGE}`, 2);
}
if (args.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
if (args.rounds < 1) fail('--rounds must be >= 1', 2);
if (args.processes < 1) fail('--processes must be >= 1', 2);

const round1 = (x) => Math.round(x * 10) / 10;
function median(xs) {
  const sorted = xs.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

if (args.processes > 1) {
  // Parent: run the measurement in fresh processes, sequentially, and pool the rounds.
  const { spawnSync } = require('child_process');
  const childArgs = process.argv.slice(2);
  const runs = [];
  for (let k = 0; k < args.processes; k++) {
    const extra = ['--processes', '1', '--emit-rounds'];
    if (args.iterations === 0 && runs.length > 0) extra.push('--iterations', String(runs[0].batch));
    const r = spawnSync(process.execPath, [...process.execArgv, __filename, ...childArgs, ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
    runs.push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  const all = runs.flatMap((r) => r.round_ns);
  const out = {
    ...runs[0],
    median_ns: round1(median(all)),
    rounds: all.length,
    batch: runs[0].batch,
    min_ns: round1(Math.min(...all)),
    max_ns: round1(Math.max(...all)),
    processes: runs.length,
    rounds_per_process: args.rounds,
    process_medians_ns: runs.map((r) => r.median_ns),
    warmup_verifications: runs.reduce((a, r) => a + r.warmup_verifications, 0),
  };
  delete out.round_ns;
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

let raw = fs.readFileSync(args.file);
if (raw.length > 0 && raw[raw.length - 1] === 0x0a) {
  // An editor's trailing newline is not part of an HTTP body.
  raw = raw.subarray(0, raw[raw.length - 2] === 0x0d ? raw.length - 2 : raw.length - 1);
  process.stderr.write('verify-bench: note: ignoring the trailing newline of the file\n');
}
const bodyString = raw.toString('utf8');
const secret = args.secret;
const parse = args.parser === 'qs' ? (s) => qs.parse(s) : (s) => querystring.parse(s);

/** The merchant's check, as a Node handler would write it. */
function verify(body) {
  const p = parse(body);
  for (const f of REQUIRED_FIELDS) if (typeof p[f] !== 'string') return false;
  const stringForHash = p.orderId + ':' + p.newStatus + ':' + p.inAmount + ':' + p.outAmount + ':' +
    p.xml_from + ':' + p.xml_to + ':' + p.timestamp + ':' + secret;
  const expected = Buffer.from(crypto.createHash('sha256').update(stringForHash).digest('hex'));
  const got = Buffer.from(p.hash);
  return got.length === expected.length && crypto.timingSafeEqual(expected, got);
}

const input = args.input === 'buffer' ? raw : bodyString;
const verifyInput = args.input === 'buffer' ? (b) => verify(b.toString('utf8')) : verify;

if (!verifyInput(input)) {
  fail(`the body in ${args.file} does NOT verify with the given secret (parser ${args.parser})`, 1);
}

function batch(n) {
  let ok = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (verifyInput(input)) ok++;
  const t1 = process.hrtime.bigint();
  if (ok !== n) fail(`only ${ok} of ${n} verifications succeeded`, 1);
  return Number(t1 - t0);
}

// Warm up (lets the JIT settle).
const warmEnd = Date.now() + args['warmup-ms'];
let warmed = 0;
do {
  batch(1000);
  warmed += 1000;
} while (Date.now() < warmEnd);

// Calibrate the batch size to >= 10 ms unless given.
let n = args.iterations;
if (n === 0) {
  n = 1000;
  while (batch(n) < 10e6 && n < 1 << 24) n *= 2;
}

const perOp = [];
for (let r = 0; r < args.rounds; r++) perOp.push(batch(n) / n);
const sorted = perOp.slice().sort((a, b) => a - b);

process.stdout.write(JSON.stringify({
  peer: `node-${args.parser}`,
  median_ns: round1(median(perOp)),
  rounds: args.rounds,
  batch: n,
  min_ns: round1(sorted[0]),
  max_ns: round1(sorted[sorted.length - 1]),
  processes: 1,
  input: args.input,
  body_bytes: raw.length,
  warmup_verifications: warmed,
  node: process.version,
  qs: require('qs/package.json').version,
  ...(args['emit-rounds'] ? { round_ns: perOp } : {}),
}) + '\n');
