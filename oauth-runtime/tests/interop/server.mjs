// panva/oidc-provider, a certified OAuth 2.0 / OpenID Connect server, set up for the runtime's
// interop test: one confidential client, PKCE required, rotating refresh tokens, scopes
// `read write`, and login and consent approved at once (no human in the loop).
//
// usage: node server.mjs PORT REDIRECT_URI   -> prints "READY <issuer>" when listening
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirectUri = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'interop-client',
    client_secret: 'interop-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    // Grants plain API scopes (`read write`) for one resource, with opaque access tokens.
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:interop:api',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'read write', accessTokenFormat: 'opaque' }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
});

// The user: signs in as `alice` and consents to everything asked.
provider.use(async (ctx, next) => {
  if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: 'alice' } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.respond = false;
});

provider.listen(port, '127.0.0.1', () => console.log(`READY ${issuer}`));
