#!/usr/bin/env node
'use strict';
// Self-test of the Node.js peer: known answer, the sample body, generated
// cases over real HTTP against receiver.js (cases, mutants, unsigned changes),
// and verify-bench's refusal of a wrong secret. Prints "N passed, N failed".

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const path = require('path');
const readline = require('readline');
const qs = require('qs');
const lib = require('./lib');

let passed = 0;
let failed = 0;
function check(name, cond, detail = '') {
  if (cond) passed++;
  else {
    failed++;
    process.stderr.write(`FAIL ${name} ${detail}\n`);
  }
}

function post(url, body, method = 'POST') {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? body : undefined);
  });
}

async function main() {
  const node = process.execPath;

  // 1. Known answer from the platform's docs.
  const ka = lib.KNOWN_ANSWER;
  check('signingString known answer', lib.signingString(ka.fields, ka.secret) === ka.string);
  check('checksum known answer', lib.checksum(ka.fields, ka.secret) === ka.hash);

  // 2. The project's sample body.
  const sample = fs.readFileSync(lib.DEFAULT_SAMPLE_BODY, 'utf8');
  check('sample body is 440 bytes', Buffer.byteLength(sample) === 440);
  check('sample body verifies', lib.verifyParsed(qs.parse(sample), 'SECRET123') === 'ok');
  check('sample body fails with another secret', lib.verifyParsed(qs.parse(sample), 'SECRET124') === 'bad_hash');

  // 3. Generated cases over HTTP.
  const gen = spawnSync(node, [path.join(__dirname, 'gen-ipn.js'), '--seed', '42', '--count', '40', '--exotic-amounts'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  check('gen-ipn exits 0', gen.status === 0, gen.stderr);
  const cases = gen.stdout.trim().split('\n').map((l) => JSON.parse(l));
  check('gen-ipn gives 40 cases', cases.length === 40);
  const again = spawnSync(node, [path.join(__dirname, 'gen-ipn.js'), '--seed', '42', '--count', '5', '--exotic-amounts'], { encoding: 'utf8' });
  check('gen-ipn is reproducible and prefix-stable', gen.stdout.startsWith(again.stdout));

  // One receiver with the sample secret; generated cases are re-signed with it for HTTP.
  const recv = spawn(node, [path.join(__dirname, 'receiver.js'), '--exit-on-stdin-eof'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const first = await new Promise((resolve) => readline.createInterface({ input: recv.stdout }).once('line', resolve));
  const url = JSON.parse(first).listening;
  check('receiver announces a 127.0.0.1 URL', /^http:\/\/127\.0\.0\.1:\d+$/.test(url));
  check('receiver: sample -> 200', (await post(url, sample)) === 200);
  check('receiver: tampered -> 401', (await post(url, sample.replace('inProgress', 'done'))) === 401);
  check('receiver: hash missing -> 400', (await post(url, sample.replace(/&hash=.*/, ''))) === 400);
  check('receiver: GET -> 405', (await post(url, '', 'GET')) === 405);

  for (const c of cases) {
    const parsed = qs.parse(c.body);
    check(`case ${c.id} verifies in-process`, lib.verifyParsed(parsed, c.secret) === 'ok');
    for (const m of c.mutants) {
      check(`case ${c.id} mutant "${m.what}" fails`, lib.verifyParsed(qs.parse(m.body), c.secret) === 'bad_hash');
    }
    for (const u of c.unsigned_changes) {
      check(`case ${c.id} unsigned "${u.what}" verifies`, lib.verifyParsed(qs.parse(u.body), c.secret) === 'ok');
    }
    const resigned = c.body.replace(`hash=${c.hash}`, `hash=${lib.checksum(parsed, 'SECRET123')}`);
    check(`case ${c.id} over HTTP -> 200`, (await post(url, resigned)) === 200);
    check(`case ${c.id} over HTTP, original secret -> 401`, (await post(url, c.body)) === 401);
  }
  recv.stdin.end();
  const code = await new Promise((resolve) => recv.on('exit', resolve));
  check('receiver exits 0 on stdin EOF', code === 0);

  // 4. verify-bench refuses a body that does not verify.
  const vb = spawnSync(node, [path.join(__dirname, 'verify-bench.js'), '--secret', 'nope', '--processes', '1'], { encoding: 'utf8' });
  check('verify-bench exits 1 on a wrong secret', vb.status === 1);

  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
