'use strict';
// A stand-in for the platform's API server, written the way its profile page
// documents the API-key check, on real Express 4 with its own parsers:
//
//   app.use(express.json());
//   app.use(express.urlencoded({ extended: true }));
//   // req.query: Express's default ("extended") query parser, qs
//   const params = { ...req.query, ...req.body };
//   hash === sha256(sha256(JSON.stringify(params)) + secret)   // hex digests
//
// plus the `time` rule (a number greater than the last one seen for the key).
// Nothing here knows how the Rust client encodes anything.
//
// Usage: node express-server.js [--port N] [--key K] [--secret S] [--exit-on-stdin-eof]
// Prints {"listening":"http://127.0.0.1:PORT"} on stdout when ready.
//
//   /service/api/v1/<method>/   any verb: the check, then a minimal success
//                               envelope for the six methods of the SDK
//   GET /__stats                {accepted, refused, refusals: [...], params: [...]}
//                               each refusal says what the server computed
//                               (the JSON text it hashed, the hash it expected)
const crypto = require('crypto');
const express = require('express');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
if (process.argv.includes('--help')) {
  process.stdout.write('node express-server.js [--port N] [--key K] [--secret S] [--exit-on-stdin-eof]\n');
  process.exit(0);
}
const port = Number(arg('--port', '0'));
const apiKey = arg('--key', 'EF04794F718A3FC8C6DFA0B');
const secret = arg('--secret', '97aab8410868ba7c1824f490999607c0ce46a3de');

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

const DATA = {
  'public/exchanger/order/create': {
    _id: '5d8e6002b80b7b4cd75a6424', uid: 1409, rid: 'R1409', secret: 'dGqwF2M2eBPaSN1G5ljMS1cb',
    route: { from: { name: 'Ethereum', symbol: 'ETH' }, to: { name: 'WebMoney', symbol: 'WMZ' } },
    inAmount: 2, outAmount: '317.42',
  },
  'public/exchanger/order/get': {
    order: { _id: '5d8e6002b80b7b4cd75a6424', uid: 1409, status: 'waitPayment', inAmount: 2, outAmount: '317.42' },
    verifications: [],
  },
  'public/exchanger/order/update-status': { ok: 1, oldStatus: 'waitPayment', newStatus: 'inProgress' },
  'public/exchanger/route/get': {
    routes: [{ routeId: '5d8e6002b80b7b4cd75a6424', from: { name: 'Bitcoin', symbol: 'BTC', xml: 'BTC' },
      to: { name: 'WebMoney', symbol: 'WMZ', xml: 'WMZ' }, isShowWeb: true }],
  },
  'public/exchanger/route/get/one': { route: { routeId: '5d8e6002b80b7b4cd75a6424', fields: [] } },
  'public/exchanger/route/get/one/by-xml': { route: { routeId: '5d8e6002b80b7b4cd75a6424', fields: [] } },
};

const stats = { accepted: 0, refused: 0, refusals: [], params: [] };
let lastTime = 0;
let seq = 0;

const app = express();
app.use(express.json());
app.use(express.urlencoded({ extended: true }));

app.get('/__stats', (req, res) => res.json(stats));

app.all('/service/api/v1/*', (req, res) => {
  const method = req.params[0].replace(/\/$/, '');
  const envelope = (body) => res.json({ ...body, latency_ms: 1, requestId: 'node-' + (++seq) });
  const refuse = (message, detail) => {
    stats.refused += 1;
    stats.refusals.push({
      message, http: req.method, method, contentType: req.headers['content-type'] || null,
      url: req.originalUrl, ...detail,
    });
    envelope({ success: false, error: { apiError: true, message, errorType: 'api', level: 0, errorCode: 40301 } });
  };
  const params = { ...req.query, ...req.body };
  const signed = JSON.stringify(params);
  const expected = sha256(sha256(signed) + secret);
  if (req.headers.apikey !== apiKey) return refuse('Invalid api key', { signed });
  if (req.headers.hash !== expected) {
    return refuse('Invalid hash', { signed, expected, got: req.headers.hash || null });
  }
  const time = Number(params.time);
  if (!(time > lastTime)) return refuse('Param time must be greater', { signed, time: params.time, lastTime });
  lastTime = time;
  if (!(method in DATA)) return refuse('Method not found', { signed });
  stats.accepted += 1;
  stats.params.push({ http: req.method, method, params });
  envelope({ success: true, data: DATA[method] });
});

const server = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: 'http://127.0.0.1:' + server.address().port }) + '\n');
});
const stop = () => {
  server.close();
  server.closeAllConnections && server.closeAllConnections();
  process.stderr.write(JSON.stringify({ stopped: true, accepted: stats.accepted, refused: stats.refused }) + '\n');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.argv.includes('--exit-on-stdin-eof')) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
