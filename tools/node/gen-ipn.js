#!/usr/bin/env node
'use strict';
// Generate random, self-checked IPN test cases as the Node.js platform would
// send them (qs.stringify + the documented sha256 checksum). One JSON object
// per line on stdout. See README.md for the case format.

const util = require('util');
const qs = require('qs');
const {
  SIGNED_FIELDS, STATUSES, CURRENCIES, Rng, checksum, signingString, verifyParsed,
  parseArgs, selfTestKnownAnswer,
} = require('./lib');

const USAGE = `usage: gen-ipn.js [--seed N] [--count N] [--spelling NAME] [--exotic-amounts]
  --seed N            base seed (default 1); case i is derived from (seed, i), so
                      the first K cases are the same whatever --count is
  --count N           number of cases (default 100)
  --spelling NAME     only this qs spelling (default: random per case): default,
                      encodeValuesOnly, brackets, brackets+encodeValuesOnly, RFC1738
  --exotic-amounts    also emit amounts in exponent form ("4.6e-9", "3e+22"), which
                      Number->String gives for very small/large numbers`;

// The spellings a Node sender using qs can produce.
const SPELLINGS = Object.freeze({
  default: {},
  encodeValuesOnly: { encodeValuesOnly: true },
  brackets: { arrayFormat: 'brackets' },
  'brackets+encodeValuesOnly': { arrayFormat: 'brackets', encodeValuesOnly: true },
  RFC1738: { format: 'RFC1738' },
});

// ---------------------------------------------------------------- random text

// Ranges of code points for "arbitrary printable + Unicode" text (no
// surrogates, no controls, no noncharacters: everything is valid UTF-8).
const RANGES = [
  [0x20, 0x7e, 40], // printable ASCII, including ':' '&' '=' '%' '+' ' '
  [0xa1, 0xff, 8], // Latin-1
  [0x391, 0x3c9, 4], // Greek
  [0x401, 0x451, 14], // Cyrillic
  [0x5d0, 0x5ea, 2], // Hebrew
  [0x4e00, 0x9fff, 6], // CJK
  [0x1f300, 0x1f64f, 8], // emoji (astral plane: surrogate pairs in JS)
  [0x1f680, 0x1f6ff, 3], // more emoji
  [0x300, 0x36f, 2], // combining marks
];
const RANGE_WEIGHT = RANGES.reduce((s, r) => s + r[2], 0);

function randomCodePoint(rng) {
  let w = rng.next() * RANGE_WEIGHT;
  for (const [lo, hi, weight] of RANGES) {
    if (w < weight) return String.fromCodePoint(rng.int(lo, hi));
    w -= weight;
  }
  return 'x';
}

function randomSecret(rng) {
  const len = rng.int(1, 64); // in code points
  let s = '';
  for (let i = 0; i < len; i++) s += randomCodePoint(rng);
  return s;
}

const VALUE_PIECES = [
  '&', '=', '%', '+', ' ', '[', ']', '#', '?', ';', '/', '\\', '"', "'", '(', ')', '*', '~',
  '!', ',', ':', '@', '%20', '%2B', '%25', 'a+b', 'a=b&c=d', '[0]', '%5B', '\t', '\n',
  '😀', '🚀', '👍🏽', '🇷🇺', '❤️', 'Привет', 'кошелёк', 'Ёж', 'ЩЪ', '日本語', 'ü', 'ß', 'é',
  'Z123456789012', 'customer.name@example.com', '+7 (999) 123-45-67', '4276 1600 0000 0000',
  '0x52908400098527886E0F7030069857D2E4169EE7', 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE',
];

function randomValue(rng) {
  const parts = rng.int(0, 6);
  let s = '';
  for (let i = 0; i < parts; i++) {
    s += rng.bool(0.7) ? rng.pick(VALUE_PIECES) : randomCodePoint(rng);
  }
  return s;
}

const TOVALUE_KEYS = [
  ['wallet', 'Wallet'], ['email', 'E-mail'], ['phone', 'Телефон'], ['card', 'Номер карты'],
  ['memo', 'Memo / Tag'], ['destinationTag', 'Destination tag'], ['account', 'Счёт'],
  ['fio', 'ФИО получателя'], ['comment', 'Comment & notes = 100% "free" text'],
];

function randomToValues(rng) {
  const n = rng.int(0, 5);
  const out = [];
  for (let i = 0; i < n; i++) {
    const [key, name] = rng.pick(TOVALUE_KEYS);
    out.push({ key, name, value: randomValue(rng) });
  }
  return out;
}

// ----------------------------------------------------------------- amounts

function digits(rng, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

// Returns { shape, value } where value is what the sender puts in the object
// given to qs.stringify (a Number, or a String for server-formatted decimals).
function randomAmount(rng, exotic) {
  const shapes = ['integer', 'decimal', 'decimal', 'trailing_zero', 'computed'];
  if (exotic) shapes.push('exponent');
  const shape = rng.pick(shapes);
  switch (shape) {
    case 'integer': {
      const v = rng.pick([rng.int(1, 9), rng.int(10, 999), rng.int(1000, 10000000)]);
      return { shape, value: v };
    }
    case 'decimal': {
      // A Number with 1..8 decimals, written as Number->String would.
      for (;;) {
        const k = rng.int(1, 8);
        const m = rng.int(1, 999999999);
        const v = m / 10 ** k;
        const s = String(v);
        if (/^\d+(\.\d+)?$/.test(s) && s.includes('.')) return { shape, value: v };
      }
    }
    case 'trailing_zero': {
      // A server-formatted decimal string ending in 0, e.g. "100.50", "2.00".
      const intPart = String(rng.pick([0, rng.int(1, 9), rng.int(10, 99999)]));
      const k = rng.int(1, 8);
      const frac = digits(rng, k - 1) + '0';
      return { shape, value: intPart + '.' + frac };
    }
    case 'computed': {
      // amount * rate in binary floating point, e.g. "0.30000000000000004".
      for (;;) {
        const a = rng.int(1, 99999) / 10 ** rng.int(0, 4);
        const b = rng.int(1, 99999) / 10 ** rng.int(0, 4);
        const v = a * b;
        const s = String(v);
        if (/^\d+(\.\d+)?$/.test(s)) return { shape, value: v };
      }
    }
    case 'exponent': {
      const v = rng.bool()
        ? rng.int(1, 99) / 10 ** rng.int(8, 12) // e.g. 1.5e-9
        : rng.int(1, 9) * 10 ** rng.int(21, 25); // e.g. 3e+22
      return { shape, value: v };
    }
    default:
      throw new Error(shape);
  }
}

/** Numerically equal re-spellings a careless receiver might normalise to. */
function reformattings(s) {
  const out = [];
  if (/e/i.test(s)) {
    // Exact decimal expansion by string: 1.5e-9 -> 0.0000000015, 3e+22 -> 3 and 22 zeros.
    const m = /^(\d)(?:\.(\d+))?e([+-])(\d+)$/.exec(s);
    if (m) {
      const mant = m[1] + (m[2] || '');
      const exp = Number(m[4]);
      const plain = m[3] === '-'
        ? '0.' + '0'.repeat(exp - 1) + mant
        : mant + '0'.repeat(exp - (mant.length - 1));
      out.push(plain);
    }
    return out;
  }
  out.push(s.includes('.') ? s + '0' : s + '.0'); // 2 -> 2.0, 317.42 -> 317.420
  if (s.includes('.') && s.endsWith('0')) {
    const stripped = s.replace(/0+$/, '').replace(/\.$/, ''); // 100.50 -> 100.5, 2.00 -> 2
    if (stripped !== s) out.push(stripped);
  }
  if (s.startsWith('0.')) out.push(s.slice(1)); // 0.5 -> .5
  return out;
}

/** A numerically different amount with the same shape: bump the last digit
 *  (of the mantissa, for exponent forms: 4.6e-9 -> 4.7e-9). */
function bumpLastDigit(s) {
  const e = s.search(/e/i);
  const i = e >= 0 ? e - 1 : s.length - 1;
  const d = Number(s[i]);
  return s.slice(0, i) + String((d + 1) % 10) + s.slice(i + 1);
}

// ----------------------------------------------------------------- helpers

const HEX = '0123456789abcdef';

function changeHexDigit(rng, hex) {
  const i = rng.int(0, hex.length - 1);
  let c;
  do c = rng.pick(HEX); while (c === hex[i]);
  return hex.slice(0, i) + c + hex.slice(i + 1);
}

function toggleFirstCase(s) {
  const c = s[0];
  const t = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return t + s.slice(1);
}

/** Copy of obj (same key insertion order) with some keys replaced. */
function withChanges(obj, changes) {
  const out = {};
  for (const k of Object.keys(obj)) out[k] = k in changes ? changes[k] : obj[k];
  for (const k of Object.keys(changes)) if (!(k in out)) out[k] = changes[k];
  for (const k of Object.keys(changes)) if (changes[k] === undefined) delete out[k];
  return out;
}

function signedOf(obj) {
  const s = {};
  for (const f of SIGNED_FIELDS) s[f] = String(obj[f]);
  return s;
}

// ----------------------------------------------------------------- one case

function makeCase(id, caseSeed, opts) {
  const rng = new Rng(caseSeed);
  const secret = randomSecret(rng);
  const spelling = opts.spelling || rng.pick(Object.keys(SPELLINGS));
  const qsOptions = SPELLINGS[spelling];

  const inA = randomAmount(rng, opts.exoticAmounts);
  const outA = randomAmount(rng, opts.exoticAmounts);
  const xmlFrom = rng.pick(CURRENCIES);
  let xmlTo;
  do xmlTo = rng.pick(CURRENCIES); while (xmlTo === xmlFrom);

  const values = {
    orderUID: rng.int(1, 99999999999),
    orderId: Array.from({ length: 24 }, () => rng.pick(HEX)).join(''),
    newStatus: rng.pick(STATUSES),
    inAmount: inA.value,
    outAmount: outA.value,
    xml_from: xmlFrom,
    xml_to: xmlTo,
    timestamp: rng.int(1546300800000, 1924991999999), // 2019 .. 2030, milliseconds
    toValues: randomToValues(rng),
  };
  const signed = signedOf(values);
  const hash = checksum(signed, secret);

  // Shuffle the key insertion order (qs.stringify follows it).
  const order = rng.shuffle([...Object.keys(values), 'hash']);
  const obj = {};
  for (const k of order) obj[k] = k === 'hash' ? hash : values[k];
  const stringify = (o) => qs.stringify(o, qsOptions);
  const body = stringify(obj);

  // ---- mutants: bodies that must fail verification
  const mutants = [];
  const mutant = (what, changes) => mutants.push({ what, body: stringify(withChanges(obj, changes)) });

  mutant('orderId changed', { orderId: changeHexDigit(rng, values.orderId) });
  if (/[a-f]/.test(values.orderId)) mutant('orderId uppercased', { orderId: values.orderId.toUpperCase() });
  {
    let st;
    do st = rng.pick(STATUSES); while (st === values.newStatus);
    mutant('newStatus changed', { newStatus: st });
    mutant('newStatus case changed', { newStatus: toggleFirstCase(values.newStatus) });
  }
  for (const f of ['inAmount', 'outAmount']) {
    const s = signed[f];
    mutant(`${f} changed (${s} -> ${bumpLastDigit(s)})`, { [f]: bumpLastDigit(s) });
    for (const r of reformattings(s)) mutant(`${f} reformatted (${s} -> ${r})`, { [f]: r });
  }
  for (const f of ['xml_from', 'xml_to']) {
    let c;
    do c = rng.pick(CURRENCIES); while (c === values[f]);
    mutant(`${f} changed`, { [f]: c });
    mutant(`${f} lowercased`, { [f]: values[f].toLowerCase() });
  }
  mutant('timestamp changed (+1 ms)', { timestamp: values.timestamp + 1 });
  mutant('timestamp changed (-1 ms)', { timestamp: values.timestamp - 1 });
  mutant('hash changed in one hex digit', { hash: changeHexDigit(rng, hash) });
  {
    let other;
    do other = randomSecret(rng); while (other === secret);
    mutant('signed with a different secret', { hash: checksum(signed, other) });
  }

  // ---- unsigned changes: bodies that must still verify with the original hash
  const unsigned = [];
  const unsignedChange = (what, changes) =>
    unsigned.push({ what, body: stringify(withChanges(obj, changes)) });
  {
    let uid;
    do uid = rng.int(1, 99999999999); while (uid === values.orderUID);
    unsignedChange('orderUID changed', { orderUID: uid });
  }
  const tv = values.toValues;
  if (tv.length > 0) {
    const i = rng.int(0, tv.length - 1);
    const changed = tv.map((e, j) => (j === i ? { ...e, value: e.value + '&x=1 %+ 🚀' } : e));
    unsignedChange('toValues value changed', { toValues: changed });
    unsignedChange('toValues removed', { toValues: undefined });
  }
  unsignedChange('toValues entry added', {
    toValues: [...tv, { key: 'memo', name: 'Memo', value: 'добавлено = & % + []' }],
  });

  // ---- self-check: what a qs receiver decodes must match and verify
  const parsed = qs.parse(body);
  for (const f of SIGNED_FIELDS) {
    if (parsed[f] !== signed[f]) throw new Error(`case ${id}: ${f} decodes as ${util.inspect(parsed[f])}, want ${signed[f]}`);
  }
  if (parsed.orderUID !== String(values.orderUID)) throw new Error(`case ${id}: orderUID mismatch`);
  if (parsed.hash !== hash) throw new Error(`case ${id}: hash field mismatch`);
  if (checksum(parsed, secret) !== hash) throw new Error(`case ${id}: checksum of decoded values differs`);
  if (verifyParsed(parsed, secret) !== 'ok') throw new Error(`case ${id}: does not verify`);
  if (!/^[\x21-\x7e]*$/.test(body)) throw new Error(`case ${id}: body is not printable ASCII`);
  // qs's 'brackets' format cannot round-trip an array of objects (qs.parse
  // turns toValues[][key]=a&toValues[][key]=b into [{key:[a,b]}]); with index
  // spellings toValues must come back intact.
  const toValuesRoundTrip = util.isDeepStrictEqual(parsed.toValues === undefined ? [] : parsed.toValues, tv);
  if (!toValuesRoundTrip && !qsOptions.arrayFormat) throw new Error(`case ${id}: toValues do not round-trip`);
  for (const m of mutants) {
    if (m.body === body) throw new Error(`case ${id}: mutant "${m.what}" equals the body`);
    const r = verifyParsed(qs.parse(m.body), secret);
    if (r !== 'bad_hash') throw new Error(`case ${id}: mutant "${m.what}" gave ${r}`);
  }
  for (const u of unsigned) {
    if (u.body === body) throw new Error(`case ${id}: unsigned change "${u.what}" equals the body`);
    const r = verifyParsed(qs.parse(u.body), secret);
    if (r !== 'ok') throw new Error(`case ${id}: unsigned change "${u.what}" gave ${r}`);
  }

  return {
    id,
    case_seed: caseSeed,
    secret,
    body,
    spelling,
    qs_options: qsOptions,
    key_order: order,
    fields: {
      orderUID: values.orderUID,
      orderId: signed.orderId,
      newStatus: signed.newStatus,
      inAmount: signed.inAmount,
      outAmount: signed.outAmount,
      xml_from: signed.xml_from,
      xml_to: signed.xml_to,
      timestamp: values.timestamp,
      toValues: tv,
    },
    amount_shapes: { inAmount: inA.shape, outAmount: outA.shape },
    signing_string: signingString(signed, secret),
    hash,
    toValues_roundtrip: toValuesRoundTrip,
    mutants,
    unsigned_changes: unsigned,
  };
}

function main() {
  const usage = USAGE;
  let args;
  try {
    args = parseArgs(process.argv.slice(2), {
      seed: { type: 'int', default: 1 },
      count: { type: 'int', default: 100 },
      spelling: { type: 'string', default: null, choices: Object.keys(SPELLINGS) },
      'exotic-amounts': { type: 'flag', default: false },
    });
  } catch (e) {
    process.stderr.write(`gen-ipn: ${e.message}\n${usage}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(usage + '\n');
    return;
  }
  selfTestKnownAnswer();
  const opts = { spelling: args.spelling, exoticAmounts: args['exotic-amounts'] };
  const lines = [];
  for (let i = 0; i < args.count; i++) {
    // Per-case seed derived from (seed, i): cases are stable whatever --count.
    const caseSeed = (Math.imul(args.seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77)) >>> 0;
    lines.push(JSON.stringify(makeCase(i, caseSeed, opts)));
    if (lines.length >= 256) {
      process.stdout.write(lines.join('\n') + '\n');
      lines.length = 0;
    }
  }
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  process.stderr.write(`gen-ipn: ${args.count} cases (seed ${args.seed}) generated and self-checked\n`);
}

main();
