'use strict';
// Shared helpers for the Node.js peer of the Smartex platform.
//
// The checksum is computed exactly as the platform's documentation shows:
//
//   const stringForHash = orderId+":"+newStatus+":"+inAmount+":"+outAmount+":"
//                         +xml_from+":"+xml_to+":"+timestamp+":"+ipnSecret;
//   const hash = crypto.createHash('sha256').update(stringForHash).digest('hex')
//
// i.e. plain JavaScript string concatenation (so numbers become String(n)),
// hashed as UTF-8, lowercase hex digest.

const crypto = require('crypto');
const path = require('path');

/** The seven signed fields, in signing order. */
const SIGNED_FIELDS = Object.freeze([
  'orderId',
  'newStatus',
  'inAmount',
  'outAmount',
  'xml_from',
  'xml_to',
  'timestamp',
]);

/** Every field a receiver needs to verify a notification. */
const REQUIRED_FIELDS = Object.freeze([...SIGNED_FIELDS, 'hash']);

const STATUSES = Object.freeze([
  'new',
  'waitPayment',
  'errorPayment',
  'inProgress',
  'inProgressPayout',
  'errorPayout',
  'hold',
  'done',
  'returned',
  'deleted',
]);

const CURRENCIES = Object.freeze([
  'ETH', 'WMZ', 'BTC', 'USDTTRC20', 'USDTERC20', 'LTC', 'XMR', 'TRX', 'DOGE',
  'QWRUB', 'YAMRUB', 'SBERRUB', 'CARDUAH', 'PMUSD', 'ADVCUSD', 'BCH', 'DASH',
]);

/** The documented example (also the project's sample body, secret SECRET123). */
const KNOWN_ANSWER = Object.freeze({
  fields: Object.freeze({
    orderId: '5d8e6002b80b7b4cd75a6424',
    newStatus: 'inProgress',
    inAmount: '2',
    outAmount: '317.42',
    xml_from: 'ETH',
    xml_to: 'WMZ',
    timestamp: '1571328406072',
  }),
  secret: 'SECRET123',
  string: '5d8e6002b80b7b4cd75a6424:inProgress:2:317.42:ETH:WMZ:1571328406072:SECRET123',
  hash: 'af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48',
});

const DEFAULT_SAMPLE_BODY = path.join(
  __dirname, '..', '..', 'crates', 'smartex-core', 'tests', 'data', 'sample-ipn-body.txt');
const DEFAULT_SECRET = 'SECRET123';

/** The string the platform hashes: the docs' concatenation, verbatim. */
function signingString(fields, secret) {
  const { orderId, newStatus, inAmount, outAmount, xml_from, xml_to, timestamp } = fields;
  const ipnSecret = secret;
  return orderId + ':' + newStatus + ':' + inAmount + ':' + outAmount + ':' + xml_from + ':' +
    xml_to + ':' + timestamp + ':' + ipnSecret;
}

/** Lowercase hex SHA-256 of signingString(fields, secret), as the docs compute it. */
function checksum(fields, secret) {
  return crypto.createHash('sha256').update(signingString(fields, secret)).digest('hex');
}

/**
 * Verify a parsed notification the way a careful Node merchant would.
 * Returns 'ok', 'bad_hash' or 'malformed'.
 */
function verifyParsed(parsed, secret) {
  if (parsed === null || typeof parsed !== 'object') return 'malformed';
  for (const f of REQUIRED_FIELDS) {
    if (typeof parsed[f] !== 'string') return 'malformed'; // missing, repeated or nested
  }
  const expected = Buffer.from(checksum(parsed, secret), 'utf8');
  const got = Buffer.from(parsed.hash, 'utf8');
  if (got.length !== expected.length) return 'bad_hash';
  return crypto.timingSafeEqual(expected, got) ? 'ok' : 'bad_hash';
}

/** mulberry32: tiny seeded 32-bit PRNG; returns floats in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Convenience wrapper around a seeded PRNG. */
class Rng {
  constructor(seed) {
    this.next = mulberry32(seed);
  }
  /** Integer in [lo, hi] (inclusive); safe up to 2^53. */
  int(lo, hi) {
    const span = hi - lo + 1;
    if (span <= 0x100000000) return lo + Math.floor(this.next() * span);
    const hiPart = Math.floor(this.next() * 0x200000); // 21 bits
    const loPart = Math.floor(this.next() * 0x100000000); // 32 bits
    return lo + ((hiPart * 0x100000000 + loPart) % span);
  }
  bool(p = 0.5) {
    return this.next() < p;
  }
  pick(arr) {
    return arr[Math.floor(this.next() * arr.length)];
  }
  shuffle(arr) {
    const a = arr.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** Tiny argv parser: --name value and --flag. */
function parseArgs(argv, spec) {
  const out = {};
  for (const [k, v] of Object.entries(spec)) out[k] = v.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      out.help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !(m[1] in spec)) throw new Error(`unknown argument: ${arg}`);
    const s = spec[m[1]];
    if (s.type === 'flag') {
      out[m[1]] = true;
      continue;
    }
    let val = m[2];
    if (val === undefined) {
      if (i + 1 >= argv.length) throw new Error(`--${m[1]} needs a value`);
      val = argv[++i];
    }
    if (s.type === 'int') {
      if (!/^\d+$/.test(val)) throw new Error(`--${m[1]} wants a non-negative integer, got ${val}`);
      val = Number(val);
    } else if (s.choices && !s.choices.includes(val)) {
      throw new Error(`--${m[1]} must be one of ${s.choices.join(', ')}`);
    }
    out[m[1]] = val;
  }
  return out;
}

/** Throw unless the documented example reproduces. */
function selfTestKnownAnswer() {
  const s = signingString(KNOWN_ANSWER.fields, KNOWN_ANSWER.secret);
  const h = checksum(KNOWN_ANSWER.fields, KNOWN_ANSWER.secret);
  if (s !== KNOWN_ANSWER.string || h !== KNOWN_ANSWER.hash) {
    throw new Error(`known-answer test failed: ${s} -> ${h}`);
  }
}

module.exports = {
  SIGNED_FIELDS,
  REQUIRED_FIELDS,
  STATUSES,
  CURRENCIES,
  KNOWN_ANSWER,
  DEFAULT_SAMPLE_BODY,
  DEFAULT_SECRET,
  signingString,
  checksum,
  verifyParsed,
  mulberry32,
  Rng,
  parseArgs,
  selfTestKnownAnswer,
};
