#!/usr/bin/env node
// Okta's own verifier for Node (@okta/jwt-verifier), run as a judge: the conformance test of
// crates/verify (tests/conformance.rs) and the verify job of lambda-bench hold our verifier
// against it. Offline: the issuer is a loopback server, so `testing.disableHttpsCheck`.
//
// judge mode (default): stdin is one JSON case group, or an array of them, or {"groups":[...]}:
//   {"issuer": "...", "audience": "...", "clientIds": ["..."], "scopes": ["..."], "tokens": ["..."]}
// and stdout gets one JSON line per token, in input order:
//   {"verdict":"accept","cid":..,"uid":..,"act_sub":..,"sub_is_cid":bool,"scp":[..],"exp":..}
//   {"verdict":"reject","class":"expired"}          (a refusal by the verifier, classified)
//   {"verdict":"error","class":"TypeError"}         (the verifier threw: no verdict)
// The verifier is configured as Okta documents: `issuer`, `assertClaims: {cid, 'scp.includes'}`
// and `verifyAccessToken(token, audience)`. A list of client ids is an allow-list: one
// verifier per client id, accepted when one of them accepts.
//
// bench mode: `node judge.js --bench N`, stdin {"issuer","audience","clientIds","scopes","token"}:
// verifies the token once (fills the JWKS cache), warms up, then N times one after another on
// this one thread, and prints {"ops_per_sec":..,"n":N,"seconds":..}.
//
// Nothing read from a token is printed except the ids above (never `sub`, which is a login).
'use strict';

const OktaJwtVerifier = require('@okta/jwt-verifier');

// Okta's error messages, most specific first, to the stable codes of crates/verify.
const CLASSES = [
  [/^Jwt cannot be parsed/, 'token_malformed'],
  [/^Unexpected signature algorithm/, 'alg_not_allowed'],
  [/^Unsupported signing algorithm/, 'alg_not_allowed'],
  [/^Jwt is expired/, 'expired'],
  [/^Jwt not active/, 'not_yet_valid'],
  [/^Error while resolving signing key/, 'unknown_kid'],
  [/^Signature verification failed/, 'bad_signature'],
  [/^audience claims? /, 'wrong_audience'],
  [/^issuer .* does not match/, 'wrong_issuer'],
  [/^claim 'cid'/, 'client_not_allowed'],
  [/^claim 'scp'/, 'scope_missing'],
];

function classify(err) {
  const message = err && typeof err.message === 'string' ? err.message : String(err);
  for (const [pattern, code] of CLASSES) {
    if (pattern.test(message)) {
      // A key resolver failure that is not "kid not found" is a JWKS fetch problem.
      if (code === 'unknown_kid' && err.innerError && !/signing key|KID/i.test(String(err.innerError.message || err.innerError))) {
        return 'jwks_unavailable';
      }
      return code;
    }
  }
  return 'other';
}

// Errors the verifier raises on purpose (njwt's JwtParseError and lib.js's plain Errors)
// are verdicts; a TypeError or RangeError from inside it is not.
function isVerdict(err) {
  return err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError)
    && !(err instanceof SyntaxError) && classify(err) !== 'other';
}

function verifiersFor(group) {
  if (typeof group.issuer !== 'string' || typeof group.audience !== 'string') {
    throw new Error('each group needs "issuer" and "audience" strings');
  }
  if (!Array.isArray(group.clientIds) || group.clientIds.length === 0) {
    throw new Error('each group needs a non-empty "clientIds" array');
  }
  const scopes = Array.isArray(group.scopes) ? group.scopes : [];
  return group.clientIds.map((cid) => {
    const assertClaims = { cid };
    if (scopes.length > 0) {
      assertClaims['scp.includes'] = scopes;
    }
    return new OktaJwtVerifier({
      issuer: group.issuer,
      clientId: cid,
      assertClaims,
      testing: { disableHttpsCheck: true },
    });
  });
}

// The token being judged: a throw that escapes the verifier's callbacks (its JWKS callback
// throws a TypeError on a token with two segments) is that token's "error", not a crash.
let pending = null;
const TOKEN_TIMEOUT_MS = 10000;

function verifyGuarded(verifier, token, audience) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(reject, Object.assign(new Error('no answer'), { name: 'Timeout' })), TOKEN_TIMEOUT_MS);
    function finish(settle, value) {
      clearTimeout(timer);
      pending = null;
      settle(value);
    }
    pending = (err) => finish(reject, err);
    verifier.verifyAccessToken(token, audience).then((jwt) => finish(resolve, jwt), (err) => finish(reject, err));
  });
}

async function judgeOne(verifiers, audience, token) {
  let first = null;
  for (const verifier of verifiers) {
    try {
      const jwt = await verifyGuarded(verifier, token, audience);
      const c = jwt.claims;
      return {
        verdict: 'accept',
        cid: c.cid === undefined ? null : c.cid,
        uid: c.uid === undefined ? null : c.uid,
        act_sub: c.act && typeof c.act === 'object' && c.act.sub !== undefined ? c.act.sub : null,
        sub_is_cid: c.sub !== undefined && c.sub === c.cid,
        scp: c.scp === undefined ? null : c.scp,
        exp: c.exp === undefined ? null : c.exp,
      };
    } catch (err) {
      const verdict = isVerdict(err)
        ? { verdict: 'reject', class: classify(err) }
        : { verdict: 'error', class: err && err.name === 'Timeout' ? 'Timeout' : err && err.constructor ? err.constructor.name : typeof err };
      // Another client id of the allow-list may still accept; a verdict on anything but
      // the client id is the same for every verifier.
      if (verdict.class !== 'client_not_allowed') {
        return verdict;
      }
      first = first || verdict;
    }
  }
  return first;
}

async function judge(input) {
  const groups = Array.isArray(input) ? input : Array.isArray(input.groups) ? input.groups : [input];
  const out = [];
  for (const group of groups) {
    const verifiers = verifiersFor(group);
    if (!Array.isArray(group.tokens)) {
      throw new Error('each group needs a "tokens" array');
    }
    for (const token of group.tokens) {
      out.push(JSON.stringify(await judgeOne(verifiers, group.audience, token)));
    }
  }
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}

async function bench(input, n) {
  const [verifier] = verifiersFor(input);
  const token = input.token;
  // The first call fetches the JWKS; the warm-up lets V8 optimise the path.
  await verifier.verifyAccessToken(token, input.audience);
  const warmup = Math.min(n, 1000);
  for (let i = 0; i < warmup; i += 1) {
    await verifier.verifyAccessToken(token, input.audience);
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) {
    await verifier.verifyAccessToken(token, input.audience);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ ops_per_sec: n / seconds, n, seconds }) + '\n');
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function main() {
  const args = process.argv.slice(2);
  let n = null;
  if (args.length === 2 && args[0] === '--bench') {
    n = Number.parseInt(args[1], 10);
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new Error('--bench takes a positive count');
    }
  } else if (args.length !== 0) {
    throw new Error('usage: judge.js [--bench N] < input.json');
  }
  const input = JSON.parse(await readStdin());
  if (n === null) {
    await judge(input);
  } else {
    await bench(input, n);
  }
}

// A throw escaping the verifier's callbacks belongs to the token being judged; anywhere
// else it must not pass for a verdict: fail loudly.
process.on('uncaughtException', (err) => {
  if (pending) {
    pending(err);
    return;
  }
  process.stderr.write(`judge.js: uncaught ${err && err.constructor ? err.constructor.name : 'error'}: ${err && err.message}\n`);
  process.exit(3);
});

main().catch((err) => {
  process.stderr.write(`judge.js: ${err && err.message}\n`);
  process.exit(2);
});
