// Reference checks of platform/token against the npm package jose (panva),
// run by TestJoseInterop: node jose_interop.cjs INPUT.json, with NODE_PATH
// pointing at a node_modules that holds jose@5.
//
// Input: {issuer, audience, jwks, edToken, tamperedToken, hsToken, secret,
// hsKid, signingKeyPEM, signingKeySPKI, signingKid, grant: {sub, tid, sid,
// role}}.
// Output (stdout, JSON): what jose made of our tokens and the tokens jose
// signed for the Go side to verify. Any unexpected failure exits non-zero.
'use strict';

const fs = require('fs');
const jose = require('jose');

async function outcome(promise) {
  try {
    const { payload, protectedHeader } = await promise;
    return { ok: true, payload, protectedHeader };
  } catch (e) {
    return { ok: false, code: e.code || String(e) };
  }
}

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const common = { issuer: input.issuer, audience: input.audience, typ: 'at+jwt', requiredClaims: ['exp', 'iat', 'jti', 'sub'] };
  const keySet = jose.createLocalJWKSet(input.jwks);
  const secret = new TextEncoder().encode(input.secret);
  const out = {};

  // Our tokens, verified by jose.
  out.edToken = await outcome(jose.jwtVerify(input.edToken, keySet, { ...common, algorithms: ['EdDSA'] }));
  out.tamperedToken = await outcome(jose.jwtVerify(input.tamperedToken, keySet, { ...common, algorithms: ['EdDSA'] }));
  out.hsToken = await outcome(jose.jwtVerify(input.hsToken, secret, { ...common, algorithms: ['HS256'] }));
  out.thumbprints = await Promise.all(input.jwks.keys.map((k) => jose.calculateJwkThumbprint(k, 'sha256')));
  out.hsThumbprint = await jose.calculateJwkThumbprint({ kty: 'oct', k: jose.base64url.encode(secret) }, 'sha256');

  // Tokens jose signs, for our verifier.
  const claims = { tid: input.grant.tid, sid: input.grant.sid, role: input.grant.role };
  const build = () => new jose.SignJWT(claims)
    .setSubject(input.grant.sub)
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti('node-jose');
  const edKey = await jose.importPKCS8(input.signingKeyPEM, 'EdDSA');
  out.nodeEdToken = await build().setProtectedHeader({ alg: 'EdDSA', kid: input.signingKid, typ: 'at+jwt' }).sign(edKey);
  out.nodeHsToken = await build().setProtectedHeader({ alg: 'HS256', kid: input.hsKid, typ: 'at+jwt' }).sign(secret);
  // A token jose signs well but with a header RusToK refuses (jwk).
  const jwk = await jose.exportJWK(await jose.importSPKI(input.signingKeySPKI, 'EdDSA'));
  out.nodeJwkHeaderToken = await build().setProtectedHeader({ alg: 'EdDSA', kid: input.signingKid, typ: 'at+jwt', jwk }).sign(edKey);

  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error((e && e.stack) || e);
  process.exit(1);
});
