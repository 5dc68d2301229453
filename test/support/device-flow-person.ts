// The person's side of an OAuth flow against test/support/oidc-provider.ts, over plain
// HTTP: a minimal browser (cookie jar + manual redirects + HTML form submission).

/** Cookies scoped by path: oidc-provider puts its interaction cookies on `/interaction/<uid>`. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(url: URL, setCookies: string[]): void {
    for (const header of setCookies) {
      const [pair, ...attrs] = header.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = defaultPath(url.pathname);
      let expired = false;
      for (const attr of attrs) {
        const [key, val = ''] = attr.split('=');
        const k = key.toLowerCase();
        if (k === 'path' && val.startsWith('/')) path = val;
        if (k === 'max-age' && Number(val) <= 0) expired = true;
        if (k === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string | undefined {
    const matching = [...this.cookies.values()]
      .filter((c) => pathMatches(url.pathname, c.path))
      // RFC 6265 §5.4: longer paths first.
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }
}

function defaultPath(pathname: string): string {
  const i = pathname.lastIndexOf('/');
  return i <= 0 ? '/' : pathname.slice(0, i);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export interface Page {
  url: URL;
  status: number;
  body: string;
}

export class Browser {
  private readonly jar = new CookieJar();

  /**
   * Requests `url` and follows redirects; stops (without fetching) at a URL starting with
   * `stopAt`, which is how a loopback redirect to a native app is observed.
   */
  async navigate(url: string | URL, init: { method?: string; form?: Record<string, string>; stopAt?: string } = {}): Promise<Page> {
    let current = new URL(url);
    let method = init.method ?? 'GET';
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 20; hops++) {
      if (init.stopAt && current.href.startsWith(init.stopAt)) return { url: current, status: 0, body: '' };
      const headers: Record<string, string> = {};
      const cookie = this.jar.header(current);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(current, { method, headers, body, redirect: 'manual' });
      this.jar.store(current, res.headers.getSetCookie());
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        current = new URL(location, current);
        // 303, and 301/302 after POST as browsers do, turn into GET.
        if (res.status !== 307 && res.status !== 308) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { url: current, status: res.status, body: await res.text() };
    }
    throw new Error(`too many redirects from ${String(url)}`);
  }

  /** Submits the page's form (the one with `formId`, else the first) with extra/overridden fields. */
  async submit(page: Page, fields: Record<string, string> = {}, opts: { formId?: string; omit?: string[]; stopAt?: string } = {}): Promise<Page> {
    const form = parseForm(page.body, opts.formId);
    if (!form) throw new Error(`no form${opts.formId ? ` #${opts.formId}` : ''} on ${page.url.href} (HTTP ${page.status}): ${page.body.slice(0, 300)}`);
    const values = { ...form.fields, ...fields };
    for (const name of opts.omit ?? []) delete values[name];
    return this.navigate(new URL(form.action, page.url), { method: form.method, form: values, stopAt: opts.stopAt });
  }
}

interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
}

function parseForm(html: string, id?: string): Form | undefined {
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = parseAttributes(match[1]);
    if (id !== undefined && attrs.id !== id) continue;
    const fields: Record<string, string> = {};
    for (const input of match[2].matchAll(/<input\b([^>]*)>/gi)) {
      const a = parseAttributes(input[1]);
      if (a.name) fields[a.name] = a.value ?? '';
    }
    return { action: attrs.action ?? '', method: (attrs.method ?? 'GET').toUpperCase(), fields };
  }
  return undefined;
}

function parseAttributes(source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of source.matchAll(/([\w.:-]+)\s*=\s*"([^"]*)"/g)) out[m[1].toLowerCase()] = decodeEntities(m[2]);
  return out;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * Does what a person does with `verification_uri_complete`: opens it, confirms (or aborts),
 * and logs in (the provider's auto-approve). Resolves once the provider recorded the outcome.
 */
export async function approveDeviceCode(verificationUriComplete: string, opts: { deny?: boolean } = {}): Promise<void> {
  const browser = new Browser();
  // The page with user_code prefilled auto-submits (xsrf + user_code) in a real browser.
  const entry = await browser.navigate(verificationUriComplete);
  const confirmPage = await browser.submit(entry);
  if (opts.deny) {
    const aborted = await browser.submit(confirmPage, { abort: 'yes' }, { formId: 'op.deviceConfirmForm', omit: ['confirm'] });
    if (!/interrupted/i.test(aborted.body)) throw new Error(`abort not acknowledged (HTTP ${aborted.status}): ${aborted.body.slice(0, 300)}`);
    return;
  }
  const done = await browser.submit(confirmPage, { confirm: 'yes' }, { formId: 'op.deviceConfirmForm' });
  if (done.status !== 200 || !/Sign-in Success/i.test(done.body)) {
    throw new Error(`device approval failed at ${done.url.href} (HTTP ${done.status}): ${done.body.slice(0, 300)}`);
  }
}

/**
 * Opens an authorization URL (code flow) and follows the login until the provider redirects
 * to the loopback `redirectUri` (any port); returns that redirect with `code`/`state`/`error`.
 * With `deny`, the person refuses at the login page instead (the provider then redirects
 * with `error=access_denied`).
 */
export async function authorizeInBrowser(authorizationUrl: string | URL, redirectUri: string, opts: { deny?: boolean } = {}): Promise<URL> {
  const browser = new Browser();
  let page: Page;
  if (opts.deny) {
    const login = await browser.navigate(authorizationUrl, { stopAt: new URL('/interaction/', authorizationUrl).href });
    if (login.status !== 0) throw new Error(`no login page (HTTP ${login.status} at ${login.url.href}): ${login.body.slice(0, 300)}`);
    page = await browser.navigate(`${login.url.origin}${login.url.pathname}/abort`, { stopAt: redirectUri });
  } else {
    page = await browser.navigate(authorizationUrl, { stopAt: redirectUri });
  }
  if (page.status !== 0) throw new Error(`no redirect to ${redirectUri} (HTTP ${page.status} at ${page.url.href}): ${page.body.slice(0, 300)}`);
  return page.url;
}

/** What the browser showed after coming back to the app's loopback redirect. */
export interface LoopbackVisit {
  /** The callback URL the provider redirected to (as sent, or as tampered). */
  callback: URL;
  status: number;
  body: string;
}

/**
 * Plays the person of a native app's browser sign-in: opens the authorization URL, logs in
 * (or refuses, with `deny`), and lets the browser follow the redirect to the app's loopback
 * `redirect_uri`, whose page it returns. `state` replaces the state on the way back, as a
 * forged callback would.
 */
export async function signInWithBrowser(authorizationUrl: string | URL, opts: { deny?: boolean; state?: string } = {}): Promise<LoopbackVisit> {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error(`no redirect_uri in ${String(authorizationUrl)}`);
  const callback = await authorizeInBrowser(authorizationUrl, redirectUri, { deny: opts.deny });
  if (opts.state !== undefined) callback.searchParams.set('state', opts.state);
  const res = await fetch(callback, { redirect: 'manual' });
  return { callback, status: res.status, body: await res.text() };
}
