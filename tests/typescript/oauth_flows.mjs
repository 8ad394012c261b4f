#!/usr/bin/env node
// The official MCP TypeScript SDK (@modelcontextprotocol/sdk, pinned in
// package-lock.json) completes the OAuth flow against the example server's
// remote preset with ITS OWN OAuth code and no pre-issued token. Driven by
// tests/typescript_sdk_completes_the_oauth_flow.rs.
//
//   node oauth_flows.mjs MCP_URL FLOW [OTHER_MCP_URL|-] [TIMEOUT_SECONDS]
//
// FLOW:
//   client_credentials   the SDK's ClientCredentialsProvider for a confidential
//                        client this script registers first (RFC 7591).
//   authorization_code   an OAuthClientProvider like the SDK's example one (it
//                        keeps every token, the refresh token too), dynamic
//                        registration by the SDK, PKCE; redirectToAuthorization
//                        follows the authorization URL headlessly.
//   authorization_code_access_token_only
//                        the same provider keeping only access tokens (a public
//                        client), so that on 403 the SDK re-authorizes instead
//                        of refreshing.
//
// Each flow: discovery from the bare 401, token, tools/list, whoami,
// admin_echo -> 403 -> step-up -> success, echo with the new token, a token
// for another resource (the same authorization server with
// resource=ORIGIN/other; the second server's own token) refused. What the SDK
// does by itself on the 403 differs per provider, and where it stops short the
// script steps up the way an application would (see the Rust test's docs).
//
// Every HTTP request (the SDK's, the headless user agent's, this script's set-up)
// is recorded: method, URL, status and what matters for OAuth; no secret is
// recorded (token values, codes, verifiers, client secrets). One JSON report
// goes to stdout; progress goes to stderr. Every wait is bounded.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth, extractWWWAuthenticateParams, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';

const FLOWS = ['client_credentials', 'authorization_code', 'authorization_code_access_token_only'];
const [serverUrl, flow, otherArg, timeoutArg] = process.argv.slice(2);
if (!serverUrl || !FLOWS.includes(flow)) {
    process.stderr.write(`usage: node oauth_flows.mjs MCP_URL (${FLOWS.join('|')}) [OTHER_MCP_URL|-] [TIMEOUT_SECONDS]\n`);
    process.exit(2);
}
const otherServerUrl = otherArg && otherArg !== '-' ? otherArg : undefined;
const FLOW_TIMEOUT_MS = Number(timeoutArg ?? 60) * 1000;
/** How long any one HTTP request may take to answer with its headers. */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long any one MCP request may take (the SDK's own request timeout). */
const MCP_TIMEOUT_MS = 15_000;
/** Where the headless user agent is sent back to; nothing listens there, the code is read from Location. */
const REDIRECT_URL = 'http://127.0.0.1/mcp-guard-test/oauth-callback';

// Read from the file: the package's exports map sends require('…/package.json') to dist/cjs/package.json.
const sdkVersion = JSON.parse(
    readFileSync(new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url), 'utf8')
).version;
const origin = new URL(serverUrl).origin;
const otherResource = `${origin}/other`;
/** The MCP endpoints: their requests and answers are JSON-RPC, recorded by method. */
const MCP_ENDPOINTS = new Set([serverUrl, otherServerUrl].filter(Boolean).map(url => new URL(url).origin + new URL(url).pathname));

const report = {
    flow,
    server_url: serverUrl,
    other_server_url: otherServerUrl ?? null,
    node_version: process.version,
    sdk: {
        version: sdkVersion,
        latest_protocol_version: LATEST_PROTOCOL_VERSION,
        supported_protocol_versions: SUPPORTED_PROTOCOL_VERSIONS
    },
    requests: [],
    steps: {},
    errors: []
};

let printed = false;
/** Prints the report once and exits when it is written (open SSE streams would keep Node alive). */
function finish(code) {
    if (printed) return;
    printed = true;
    process.stdout.write(JSON.stringify(report, null, 1) + '\n', () => process.exit(code));
}
const watchdog = setTimeout(() => {
    report.errors.push(`timeout: the flow did not finish within ${FLOW_TIMEOUT_MS / 1000}s (stopped in phase ${phase})`);
    finish(1);
}, FLOW_TIMEOUT_MS);

function log(message) {
    process.stderr.write(`[${flow}] ${message}\n`);
}

// ---------------------------------------------------------------- recording

/** The step of the flow the next requests belong to. */
let phase = 'start';

function setPhase(name) {
    phase = name;
    log(`-- ${name}`);
}

const SECRET_FIELDS = ['access_token', 'refresh_token', 'id_token', 'client_secret', 'registration_access_token'];

function redacted(json) {
    if (!json || typeof json !== 'object' || Array.isArray(json)) return json;
    const copy = { ...json };
    for (const field of SECRET_FIELDS) {
        if (typeof copy[field] === 'string') copy[field] = `<${field}>`;
    }
    return copy;
}

/** The claims of a JWT (not verified: the resource server does that). */
function claimsOf(token) {
    try {
        const [header, payload] = token.split('.').slice(0, 2).map(part => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
        return { header, payload };
    } catch {
        return null;
    }
}

function schemeOf(authorization) {
    return authorization ? authorization.split(' ')[0] : null;
}

/** What a form-encoded token request says, without its secrets. */
function describeForm(params, headers) {
    const form = {};
    for (const [key, value] of params) {
        form[key] = ['code', 'code_verifier', 'refresh_token', 'client_secret', 'client_assertion'].includes(key) ? `<${key}>` : value;
    }
    const basic = schemeOf(headers.get('authorization'))?.toLowerCase() === 'basic';
    form.client_auth = basic ? 'client_secret_basic' : params.has('client_secret') ? 'client_secret_post' : 'none';
    if (basic) {
        const [id] = Buffer.from(headers.get('authorization').split(' ')[1] ?? '', 'base64').toString('utf8').split(':');
        form.basic_client_id = decodeURIComponent(id);
    }
    return form;
}

function describeQuery(url) {
    const query = {};
    for (const [key, value] of url.searchParams) {
        query[key] = key === 'code' ? '<code>' : value;
    }
    return query;
}

/**
 * A fetch that records each request and bounds the wait for its answer's
 * headers (a streaming body, such as the SDK's SSE GET, is not cut off).
 */
function recordingFetch(by) {
    return async (input, init = {}) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
        const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
        const entry = {
            seq: report.requests.length,
            by,
            phase,
            method,
            url: url.href,
            status: null,
            authorization: schemeOf(headers.get('authorization')),
            mcp_protocol_version: headers.get('mcp-protocol-version'),
            accept: headers.get('accept')
        };
        const isMcp = MCP_ENDPOINTS.has(url.origin + url.pathname);
        if (url.search && !isMcp) entry.query = describeQuery(url);
        const body = init.body;
        if (body instanceof URLSearchParams) {
            entry.form = describeForm(body, headers);
        } else if (typeof body === 'string' && body.length > 0) {
            try {
                const json = JSON.parse(body);
                if (isMcp || json?.jsonrpc) {
                    entry.rpc = { method: json.method ?? null, id: json.id ?? null, tool: json.params?.name ?? null };
                } else {
                    entry.json_body = redacted(json);
                }
            } catch {
                entry.body = body.slice(0, 200);
            }
        }
        report.requests.push(entry);

        const controller = new AbortController();
        const outer = init.signal;
        const abortFromOuter = () => controller.abort(outer.reason);
        if (outer) {
            if (outer.aborted) controller.abort(outer.reason);
            else outer.addEventListener('abort', abortFromOuter, { once: true });
        }
        const timer = setTimeout(
            () => controller.abort(new Error(`no answer to ${method} ${url.href} within ${REQUEST_TIMEOUT_MS} ms`)),
            REQUEST_TIMEOUT_MS
        );
        let response;
        try {
            response = await fetch(input, { ...init, signal: controller.signal });
        } catch (error) {
            entry.status = 'failed';
            entry.error = String(error?.message ?? error);
            throw error;
        } finally {
            clearTimeout(timer);
        }
        entry.status = response.status;
        const challenge = response.headers.get('www-authenticate');
        if (challenge) entry.www_authenticate = challenge;
        const location = response.headers.get('location');
        if (location) {
            const target = new URL(location, url);
            entry.location = target.origin + target.pathname;
            entry.location_query = describeQuery(target);
        }
        const contentType = response.headers.get('content-type') ?? '';
        entry.content_type = contentType || null;
        if (contentType.startsWith('application/json')) {
            try {
                const json = await response.clone().json();
                if (isMcp) {
                    if (json?.error) entry.rpc_error = json.error;
                } else {
                    entry.json = redacted(json);
                    if (typeof json?.access_token === 'string') entry.token = claimsOf(json.access_token);
                }
            } catch {
                // not JSON after all; the status says enough
            }
        }
        return response;
    };
}

const sdkFetch = recordingFetch('sdk');
const userAgentFetch = recordingFetch('user-agent');
const scriptFetch = recordingFetch('script');

// ---------------------------------------------------------------- helpers

/** The error as the report shows it. */
function describeError(error) {
    return {
        type: error?.constructor?.name ?? typeof error,
        message: String(error?.message ?? error),
        code: error?.code ?? null
    };
}

/** Awaits `promise`, failing after `ms` with a message naming `what`. */
async function within(ms, what, promise) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

function newClient() {
    return new Client({ name: 'mcp-guard-typescript-sdk-oauth-test', version: '1.0.0' }, { capabilities: {} });
}

function newTransport(url, authProvider) {
    return new StreamableHTTPClientTransport(new URL(url), { authProvider, fetch: sdkFetch });
}

/** The text of a tool result's first content block. */
function textOf(result) {
    return result?.content?.find(block => block.type === 'text')?.text ?? null;
}

async function callTool(client, name, args) {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: MCP_TIMEOUT_MS });
    return { is_error: result.isError === true, text: textOf(result) };
}

async function whoami(client) {
    const { text, is_error } = await callTool(client, 'whoami', {});
    try {
        return { is_error, ...JSON.parse(text) };
    } catch {
        return { is_error, text };
    }
}

/** The scope of the WWW-Authenticate challenge `header`, read with the SDK's own parser. */
function challengeOf(header) {
    const { scope, error, resourceMetadataUrl } = extractWWWAuthenticateParams(
        new Response(null, { status: 403, headers: { 'WWW-Authenticate': header } })
    );
    return { scope: scope ?? null, error: error ?? null, resource_metadata: resourceMetadataUrl?.href ?? null };
}

/** The authorization server of `mcpUrl` and its RFC 8414 metadata, found the way a client finds them. */
async function discover(mcpUrl) {
    const resourceOrigin = new URL(mcpUrl).origin;
    const prmUrl = `${resourceOrigin}/.well-known/oauth-protected-resource${new URL(mcpUrl).pathname}`;
    const prm = await (await scriptFetch(prmUrl)).json();
    const issuer = prm.authorization_servers?.[0];
    if (!issuer) throw new Error(`${prmUrl} names no authorization server`);
    const issuerUrl = new URL(issuer);
    const metadataUrl = `${issuerUrl.origin}/.well-known/oauth-authorization-server${issuerUrl.pathname.replace(/\/$/, '')}`;
    const response = await scriptFetch(metadataUrl);
    if (!response.ok) throw new Error(`GET ${metadataUrl} answered ${response.status}`);
    return { prm, issuer, metadata: await response.json() };
}

/** RFC 7591: registers a confidential client_credentials client. */
async function registerConfidentialClient(registrationEndpoint, name) {
    const response = await scriptFetch(registrationEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({
            client_name: name,
            grant_types: ['client_credentials'],
            token_endpoint_auth_method: 'client_secret_basic',
            scope: 'mcp mcp:admin'
        })
    });
    const json = await response.json();
    if (!response.ok || !json.client_id || !json.client_secret) {
        throw new Error(`registration at ${registrationEndpoint} answered ${response.status}: ${JSON.stringify(redacted(json))}`);
    }
    return json;
}

// ------------------------------------------------- the OAuthClientProvider

/**
 * An OAuthClientProvider like the SDK's example InMemoryOAuthClientProvider,
 * except that `redirectToAuthorization` is a headless user agent: it GETs the
 * authorization URL without following redirects, checks that the answer
 * sends it back to the registered redirect URI with this flow's `state` (and
 * the issuer's `iss`, RFC 9207, when present), and keeps the code for
 * `transport.finishAuth(code)`.
 */
class HeadlessOAuthClientProvider {
    constructor({ keepRefreshTokens, tokenEndpointAuthMethod }) {
        this.keepRefreshTokens = keepRefreshTokens;
        this._clientMetadata = {
            client_name: `mcp-guard TypeScript SDK test (${flow})`,
            redirect_uris: [REDIRECT_URL],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: tokenEndpointAuthMethod
        };
        this.authorizations = [];
        this.pendingCode = undefined;
    }
    get redirectUrl() {
        return REDIRECT_URL;
    }
    get clientMetadata() {
        return this._clientMetadata;
    }
    state() {
        this._state = randomBytes(16).toString('base64url');
        return this._state;
    }
    clientInformation() {
        return this._clientInformation;
    }
    saveClientInformation(information) {
        this._clientInformation = information;
    }
    tokens() {
        return this._tokens;
    }
    saveTokens(tokens) {
        if (this.keepRefreshTokens) {
            this._tokens = tokens;
        } else {
            const { refresh_token: _dropped, ...rest } = tokens;
            this._tokens = rest;
        }
    }
    saveCodeVerifier(codeVerifier) {
        this._codeVerifier = codeVerifier;
    }
    codeVerifier() {
        if (!this._codeVerifier) throw new Error('no code verifier saved');
        return this._codeVerifier;
    }
    // Recorded only (no discoveryState(), so the SDK discovers afresh each time, as with its example provider).
    saveDiscoveryState(state) {
        this.discovered = state;
    }
    invalidateCredentials(scope) {
        if (scope === 'all' || scope === 'client') this._clientInformation = undefined;
        if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
        if (scope === 'all' || scope === 'verifier') this._codeVerifier = undefined;
    }
    async redirectToAuthorization(authorizationUrl) {
        const asked = describeQuery(authorizationUrl);
        const record = { phase, url: authorizationUrl.origin + authorizationUrl.pathname, query: asked };
        this.authorizations.push(record);
        const response = await userAgentFetch(authorizationUrl, { redirect: 'manual' });
        const location = response.headers.get('location');
        if (![302, 303].includes(response.status) || !location) {
            const text = await response.text().catch(() => '');
            throw new Error(`the authorization endpoint answered ${response.status} instead of a redirect: ${text.slice(0, 300)}`);
        }
        await response.body?.cancel();
        const target = new URL(location, authorizationUrl);
        if (target.origin + target.pathname !== REDIRECT_URL) {
            throw new Error(`the authorization endpoint redirected to ${target.origin + target.pathname}, not the registered ${REDIRECT_URL}`);
        }
        const answer = target.searchParams;
        record.returned = describeQuery(target);
        if (answer.get('error')) {
            throw new Error(`the authorization endpoint refused: ${answer.get('error')} ${answer.get('error_description') ?? ''}`);
        }
        if (answer.get('state') !== this._state) {
            throw new Error(`the redirect carried state ${answer.get('state')}, not the one sent`);
        }
        const issuer = this.discovered?.authorizationServerMetadata?.issuer;
        if (answer.has('iss') && answer.get('iss') !== issuer) {
            throw new Error(`the redirect carried iss ${answer.get('iss')}, not the discovered issuer ${issuer}`);
        }
        if (!answer.get('code')) throw new Error('the redirect carried no code');
        this.pendingCode = answer.get('code');
    }
    takeCode() {
        const code = this.pendingCode;
        this.pendingCode = undefined;
        if (!code) throw new Error('the SDK asked for authorization but no code came back');
        return code;
    }
}

/**
 * Connects as the SDK's own OAuth example does: connect; on UnauthorizedError
 * (the SDK has sent the user agent to the authorization URL) finish the flow
 * with the code and connect again with a new transport.
 */
async function connectInteractive(url, provider) {
    for (let attempt = 1; attempt <= 3; attempt++) {
        const transport = newTransport(url, provider);
        const client = newClient();
        try {
            await within(MCP_TIMEOUT_MS * 2, 'client.connect', client.connect(transport, { timeout: MCP_TIMEOUT_MS }));
            return { client, transport };
        } catch (error) {
            if (!(error instanceof UnauthorizedError)) throw error;
            log(`connect attempt ${attempt}: UnauthorizedError, finishing the authorization`);
            await within(MCP_TIMEOUT_MS, 'transport.finishAuth', transport.finishAuth(provider.takeCode()));
        }
    }
    throw new Error('still unauthorized after 3 connection attempts');
}

/** Connects with the SDK's ClientCredentialsProvider. */
async function connectClientCredentials(url, provider) {
    const transport = newTransport(url, provider);
    const client = newClient();
    await within(MCP_TIMEOUT_MS * 2, 'client.connect', client.connect(transport, { timeout: MCP_TIMEOUT_MS }));
    return { client, transport };
}

/** A client, its transport and its provider after the SDK's OAuth connect against `url`. */
async function connectWithOAuth(url, label) {
    if (flow === 'client_credentials') {
        const { issuer, metadata } = await discover(url);
        if (!metadata.registration_endpoint) throw new Error(`${issuer} advertises no registration_endpoint`);
        const registered = await registerConfidentialClient(metadata.registration_endpoint, `mcp-guard TypeScript SDK test (${label})`);
        const provider = new ClientCredentialsProvider({
            clientId: registered.client_id,
            clientSecret: registered.client_secret,
            scope: 'mcp',
            expectedIssuer: issuer,
            clientName: registered.client_name
        });
        const connected = await connectClientCredentials(url, provider);
        return { ...connected, provider, registered, issuer, metadata };
    }
    const provider = new HeadlessOAuthClientProvider({
        keepRefreshTokens: flow === 'authorization_code',
        tokenEndpointAuthMethod: flow === 'authorization_code' ? 'client_secret_post' : 'none'
    });
    const connected = await connectInteractive(url, provider);
    return { ...connected, provider, issuer: provider.discovered?.authorizationServerUrl ?? null };
}

// ---------------------------------------------------------------- the flow

async function main() {
    const steps = report.steps;

    // 1. Discovery from the bare 401, token, initialize.
    setPhase(flow === 'client_credentials' ? 'setup' : 'connect');
    const connectStarted = report.requests.length;
    const a = await connectWithOAuth(serverUrl, 'first server');
    steps.connect = {
        protocol_version: a.transport.protocolVersion ?? null,
        session_id: a.transport.sessionId ? '<present>' : null,
        client_id: a.provider.clientInformation()?.client_id ?? null,
        registered: a.registered ? redacted(a.registered) : null,
        token: claimsOf(a.provider.tokens()?.access_token ?? ''),
        token_scope: a.provider.tokens()?.scope ?? null,
        has_refresh_token: Boolean(a.provider.tokens()?.refresh_token),
        authorizations: a.provider.authorizations ?? []
    };
    if (flow === 'client_credentials') {
        // The set-up's requests are the script's; the SDK's connect starts at its first POST.
        for (const entry of report.requests.slice(connectStarted)) {
            if (entry.by === 'sdk') entry.phase = 'connect';
        }
    }

    // 2. tools/list and whoami.
    setPhase('tools_list');
    const tools = await a.client.listTools(undefined, { timeout: MCP_TIMEOUT_MS });
    steps.tools = tools.tools.map(tool => tool.name);

    setPhase('whoami');
    steps.whoami = await whoami(a.client);

    // 3. admin_echo: 403 insufficient_scope, and what the SDK does about it.
    setPhase('admin_echo');
    const secret = `step-up ${randomBytes(4).toString('hex')}`;
    try {
        const result = await callTool(a.client, 'admin_echo', { text: secret });
        steps.admin_echo = { outcome: 'ok', ...result };
    } catch (error) {
        steps.admin_echo = { outcome: 'error', error: describeError(error) };
    }
    const refusal = report.requests.find(entry => entry.phase === 'admin_echo' && entry.status === 403);
    steps.admin_echo.challenge = refusal?.www_authenticate ? challengeOf(refusal.www_authenticate) : null;
    steps.admin_echo.token_scope_after = a.provider.tokens()?.scope ?? null;

    // 4. Step-up with the challenge's scope, as far as the SDK does it by itself.
    setPhase('step_up');
    let stepped = a;
    const challengeScope = steps.admin_echo.challenge?.scope;
    if (steps.admin_echo.outcome === 'ok') {
        steps.step_up = { by: 'none: admin_echo passed at once' };
    } else if (!challengeScope) {
        throw new Error(`admin_echo failed without a step-up challenge: ${JSON.stringify(steps.admin_echo)}`);
    } else if (flow === 'client_credentials') {
        // ClientCredentialsProvider asks for its configured scope whatever the
        // challenge said (fetchToken passes provider.clientMetadata.scope), so
        // the application steps up: a provider with the challenge's scope.
        const provider = new ClientCredentialsProvider({
            clientId: a.registered.client_id,
            clientSecret: a.registered.client_secret,
            scope: challengeScope,
            expectedIssuer: a.issuer,
            clientName: a.registered.client_name
        });
        const connected = await connectClientCredentials(serverUrl, provider);
        stepped = { ...a, ...connected, provider };
        steps.step_up = { by: 'application: a new ClientCredentialsProvider with the challenge scope, a new connection' };
    } else if (steps.admin_echo.error.type === 'UnauthorizedError') {
        // The SDK re-authorized with the challenge's scope: finish as after connect.
        await within(MCP_TIMEOUT_MS, 'transport.finishAuth', a.transport.finishAuth(a.provider.takeCode()));
        steps.step_up = { by: 'sdk: re-authorization with the challenge scope, then transport.finishAuth(code)' };
    } else {
        // The SDK refreshed the token (no scope) instead of re-authorizing; the
        // application asks the SDK's auth() for the challenge's scope itself.
        a.provider.invalidateCredentials('tokens');
        const result = await within(
            MCP_TIMEOUT_MS,
            'auth()',
            auth(a.provider, {
                serverUrl: new URL(serverUrl),
                scope: challengeScope,
                resourceMetadataUrl: steps.admin_echo.challenge.resource_metadata
                    ? new URL(steps.admin_echo.challenge.resource_metadata)
                    : undefined,
                fetchFn: sdkFetch
            })
        );
        if (result !== 'REDIRECT') throw new Error(`auth() with the challenge scope returned ${result}, not REDIRECT`);
        await within(MCP_TIMEOUT_MS, 'transport.finishAuth', a.transport.finishAuth(a.provider.takeCode()));
        steps.step_up = { by: "application: tokens dropped, the SDK's auth() with the challenge scope, then transport.finishAuth(code)" };
    }
    steps.step_up.challenge_scope = challengeScope ?? null;
    steps.step_up.token = claimsOf(stepped.provider.tokens()?.access_token ?? '');
    steps.step_up.token_scope = stepped.provider.tokens()?.scope ?? null;
    steps.step_up.authorizations = (stepped.provider.authorizations ?? []).filter(record => record.phase !== 'connect');

    // 5. admin_echo again, whoami, echo: what worked before still works.
    setPhase('admin_echo_after');
    steps.admin_echo_after = await callTool(stepped.client, 'admin_echo', { text: secret });
    steps.admin_echo_after.expected = secret;
    setPhase('whoami_after');
    steps.whoami_after = await whoami(stepped.client);
    setPhase('echo_after');
    const hello = `still here ${randomBytes(4).toString('hex')}`;
    steps.echo_after = { ...(await callTool(stepped.client, 'echo', { text: hello })), expected: hello };

    // 6. A token for another resource.
    setPhase('other_resource');
    steps.other_resource = await askForAnotherResource(stepped);
    setPhase('other_server');
    steps.other_server = otherServerUrl ? await tokenOfAnotherServer() : null;

    setPhase('close');
    for (const connection of new Set([a, stepped])) {
        await connection.client.close().catch(() => {});
    }
}

/**
 * Asks this server's authorization server for a token for `ORIGIN/other`
 * (RFC 8707). Refused: the answer. Issued: that token against this server.
 */
async function askForAnotherResource(connection) {
    const { metadata } = await discover(serverUrl);
    let response;
    let via;
    let verifier;
    if (flow === 'client_credentials') {
        via = 'token endpoint, client_credentials';
        const basic = Buffer.from(
            `${encodeURIComponent(connection.registered.client_id)}:${encodeURIComponent(connection.registered.client_secret)}`
        ).toString('base64');
        response = await scriptFetch(metadata.token_endpoint, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', Authorization: `Basic ${basic}` },
            body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'mcp', resource: otherResource })
        });
    } else if (connection.provider.tokens()?.refresh_token) {
        via = 'token endpoint, refresh_token';
        const information = connection.provider.clientInformation();
        const body = new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: connection.provider.tokens().refresh_token,
            resource: otherResource,
            client_id: information.client_id
        });
        if (information.client_secret) body.set('client_secret', information.client_secret);
        response = await scriptFetch(metadata.token_endpoint, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
            body
        });
    } else {
        via = 'authorization endpoint';
        const url = new URL(metadata.authorization_endpoint);
        const information = connection.provider.clientInformation();
        verifier = randomBytes(32).toString('base64url');
        url.search = new URLSearchParams({
            response_type: 'code',
            client_id: information.client_id,
            redirect_uri: REDIRECT_URL,
            code_challenge: createHash('sha256').update(verifier).digest('base64url'),
            code_challenge_method: 'S256',
            scope: 'mcp',
            state: 'other-resource',
            resource: otherResource
        }).toString();
        response = await userAgentFetch(url, { redirect: 'manual' });
    }
    const result = { resource: otherResource, via, status: response.status };
    const location = response.headers.get('location');
    if (location) {
        const target = new URL(location, metadata.authorization_endpoint);
        result.redirected_to = target.origin + target.pathname;
        result.error = target.searchParams.get('error');
        result.code_issued = target.searchParams.has('code');
        await response.body?.cancel();
        if (!result.code_issued) return result;
        // A code for the other resource: ask the token endpoint for its token.
        response = await scriptFetch(metadata.token_endpoint, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
            body: new URLSearchParams({
                grant_type: 'authorization_code',
                code: target.searchParams.get('code'),
                code_verifier: verifier,
                redirect_uri: REDIRECT_URL,
                client_id: connection.provider.clientInformation().client_id,
                resource: otherResource
            })
        });
        result.token_status = response.status;
    }
    const json = await response.json().catch(() => null);
    result.error = json?.error ?? null;
    result.error_description = json?.error_description ?? null;
    if (response.ok && typeof json?.access_token === 'string') {
        result.issued = claimsOf(json.access_token);
        result.against_this_server = await presentToken(json.access_token);
    }
    return result;
}

/** The other server's own token (its SDK flow), presented to this server. */
async function tokenOfAnotherServer() {
    const b = await connectWithOAuth(otherServerUrl, 'second server');
    const token = b.provider.tokens()?.access_token;
    const who = await whoami(b.client);
    await b.client.close().catch(() => {});
    if (!token) throw new Error('the SDK holds no token for the second server');
    return { token: claimsOf(token), whoami_there: who, against_this_server: await presentToken(token) };
}

/** Connects to this server with `token` and no auth provider: what does the SDK see? */
async function presentToken(token) {
    const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {
        fetch: sdkFetch,
        requestInit: { headers: { Authorization: `Bearer ${token}` } }
    });
    const client = newClient();
    const before = report.requests.length;
    try {
        await within(MCP_TIMEOUT_MS * 2, 'client.connect', client.connect(transport, { timeout: MCP_TIMEOUT_MS }));
        await client.close().catch(() => {});
        return { outcome: 'connected', statuses: report.requests.slice(before).map(entry => entry.status) };
    } catch (error) {
        const refused = report.requests.slice(before).find(entry => entry.url === serverUrl && entry.method === 'POST');
        return {
            outcome: 'error',
            error: describeError(error),
            status: refused?.status ?? null,
            www_authenticate: refused?.www_authenticate ?? null
        };
    }
}

main().then(
    () => {
        clearTimeout(watchdog);
        finish(report.errors.length === 0 ? 0 : 1);
    },
    error => {
        clearTimeout(watchdog);
        report.errors.push(`${phase}: ${error?.stack ?? error}`);
        finish(1);
    }
);
