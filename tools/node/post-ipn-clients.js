'use strict';
// Posts signed IPNs to a receiver the way a Node server would, through real
// npm HTTP clients and encoders, each encoding the nested `toValues` list by
// its own default. For every client: one genuine notification and one whose
// signed `newStatus` was changed after signing (which must be refused).
//
//   node post-ipn-clients.js --url http://127.0.0.1:PORT/ipn --secret S
//
// Prints one JSON line per post:
//   {"client", "case": "genuine"|"tampered", "sent": {signed values as the
//    receiver must read them}, "body": the exact body sent, "status", "reply"}
// The Rust test (crates/smartex-ipn/tests/it/node_clients.rs) asserts on them.

const http = require('http');
const querystring = require('querystring');
const qs = require('qs');
const axios = require('axios');
const superagent = require('superagent');
const formUrlencoded = require('form-urlencoded');
const undici = require('undici');
const { checksum, parseArgs } = require('./lib');

const FORM = 'application/x-www-form-urlencoded';

/** Posts `body` (a string) with Node's own http module. */
function httpPost(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-type': FORM, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode, reply: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The clients. Each takes the notification object and posts it; returns
 * {status, reply, body} where body is what went on the wire (as far as the
 * client lets us see it; the receiver's answer echoes nothing).
 */
const CLIENTS = {
  // WHATWG: what `fetch(url, {body: new URLSearchParams(obj)})` sends.
  'fetch+URLSearchParams': async (url, obj) => {
    const body = new URLSearchParams(obj);
    const res = await fetch(url, { method: 'POST', body });
    return { status: res.status, reply: await res.text(), body: body.toString() };
  },
  'undici.request+querystring': async (url, obj) => {
    const body = querystring.stringify(obj);
    const res = await undici.request(url, { method: 'POST', body, headers: { 'content-type': FORM } });
    return { status: res.statusCode, reply: await res.body.text(), body };
  },
  'http+qs': async (url, obj) => {
    const body = qs.stringify(obj);
    return { ...(await httpPost(url, body)), body };
  },
  'http+qs(allowDots)': async (url, obj) => {
    const body = qs.stringify(obj, { allowDots: true });
    return { ...(await httpPost(url, body)), body };
  },
  'http+qs(arrayFormat:brackets)': async (url, obj) => {
    const body = qs.stringify(obj, { arrayFormat: 'brackets' });
    return { ...(await httpPost(url, body)), body };
  },
  'http+qs(arrayFormat:repeat)': async (url, obj) => {
    const body = qs.stringify(obj, { arrayFormat: 'repeat' });
    return { ...(await httpPost(url, body)), body };
  },
  'http+qs(arrayFormat:comma)': async (url, obj) => {
    const body = qs.stringify(obj, { arrayFormat: 'comma' });
    return { ...(await httpPost(url, body)), body };
  },
  'http+qs(indices:false)': async (url, obj) => {
    const body = qs.stringify(obj, { indices: false });
    return { ...(await httpPost(url, body)), body };
  },
  'http+qs(encode:false)': async (url, obj) => {
    const body = qs.stringify(obj, { encodeValuesOnly: true });
    return { ...(await httpPost(url, body)), body };
  },
  'fetch+form-urlencoded': async (url, obj) => {
    const body = formUrlencoded(obj);
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': FORM } });
    return { status: res.status, reply: await res.text(), body };
  },
  // axios serializes a plain object itself when the content type is a form.
  axios: async (url, obj) => {
    const res = await axios.post(url, obj, {
      headers: { 'content-type': FORM },
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: (r) => r,
    });
    return { status: res.status, reply: String(res.data), body: res.config.data };
  },
  // got's `form` option (URLSearchParams underneath).
  got: async (url, obj) => {
    const { default: got } = await import('got');
    const res = await got.post(url, { form: obj, throwHttpErrors: false, retry: { limit: 0 } });
    return { status: res.statusCode, reply: res.body, body: res.request.options.body };
  },
  // superagent's `.type('form')` (qs underneath).
  superagent: async (url, obj) => {
    const res = await superagent.post(url).type('form').send(obj).ok(() => true);
    return { status: res.status, reply: res.text, body: '(superagent does not expose the encoded body)' };
  },
};

/** A notification as a Node server holds it: numbers stay numbers. */
function notification(i, secret, toValues) {
  const nowMs = Date.now();
  const fields = {
    orderUID: 1000 + i,
    orderId: 'a'.repeat(12) + String(100000000000 + i),
    newStatus: ['inProgress', 'done', 'waitPayment'][i % 3],
    inAmount: [2, 0.5, '2.10'][i % 3],
    outAmount: [317.42, 1e-7, '100.0'][i % 3],
    xml_from: 'ETH',
    xml_to: 'WMZ',
    // Every other notification carries a timestamp in seconds.
    timestamp: i % 2 === 0 ? nowMs : Math.floor(nowMs / 1000),
  };
  const hash = checksum(fields, secret);
  const sent = {};
  for (const k of ['orderId', 'newStatus', 'inAmount', 'outAmount', 'xml_from', 'xml_to', 'timestamp']) {
    sent[k] = String(fields[k]);
  }
  return { obj: { ...fields, toValues, hash }, sent };
}

const TO_VALUES = [
  { key: 'wallet', name: 'Wallet', value: 'Z123456789012' },
  { key: 'email', name: 'E-mail', value: 'customer+1@example.com' },
];

async function main() {
  const args = parseArgs(process.argv.slice(2), { url: { default: null }, secret: { default: null } });
  if (!args.url || !args.secret) throw new Error('usage: --url URL --secret SECRET');
  const names = Object.keys(CLIENTS);
  for (let i = 0; i < names.length; i++) {
    const client = names[i];
    // One client also sends an empty list, which URLSearchParams writes `toValues=`.
    const toValues = client === 'got' ? [] : TO_VALUES;
    for (const kind of ['genuine', 'tampered']) {
      const { obj, sent } = notification(i, args.secret, toValues);
      if (kind === 'tampered') obj.newStatus = obj.newStatus === 'done' ? 'returned' : 'done';
      const r = await CLIENTS[client](args.url, obj);
      process.stdout.write(
        JSON.stringify({ client, case: kind, sent, body: String(r.body), status: r.status, reply: r.reply }) + '\n',
      );
    }
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
